"""Outputs for the provenance tests: one real run of the job, one fabricated with every stage.

The real run (:func:`curated_output`) is what the card, Croissant file, report and
trace see today. The fabricated one (:func:`full_output`) adds what dedup, the
detector and the sampler will add (their tables and manifest sections), written
by hand so these tests do not wait for those stages.
"""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from curation.provenance.manifest import build_manifest
from curation.schema import DUPLICATE_SCHEMA, NOT_SELECTED_SCHEMA, RECORD_SCHEMA, REJECTED_SCHEMA, new_record, to_table
from pipelines import curate
from tests.bad_input import MAX_TEXT_BYTES, write_mixed_corpus

N_GOOD = 200
FULL_RUN_ID = "run-full"
SOURCE_URI = "corpus/web.jsonl"
REAL_BELOW = 0.3


@pytest.fixture(scope="session")
def curated_output(tmp_path_factory):
    """``(output dir, manifest, corpus path)`` of the job run on good records mixed with one bad line per reason."""
    tmp = tmp_path_factory.mktemp("provenance_run")
    corpus = tmp / "mixed.jsonl"
    write_mixed_corpus(corpus, n_good=N_GOOD)
    out = tmp / "out"
    manifest = curate.run([
        "--input", f"{corpus}:source=mixed", "--output", str(out), "--origin-field", "origin",
        "--origin-values", "human=real,ai=synthetic", "--max-text-bytes", str(MAX_TEXT_BYTES), "--shard-rows", "60",
    ])
    return str(out), manifest, corpus


def _location(i: int) -> dict:
    return {"source": "web", "source_uri": SOURCE_URI, "source_index": i, "run_id": FULL_RUN_ID}


def _data_row(i: int) -> dict:
    score = (i * 37 % 100) / 100
    return new_record(
        id=f"doc-{i}", text=f"document {i}", **_location(i),
        synthetic_score=score, detector_id="sha-detector", origin="real" if score < REAL_BELOW else "synthetic",
        origin_basis="detector", content_hash=f"h{i}", cluster_id=f"c{i}", cluster_size=2 if i == 0 else 1,
        stratum=f"topic-{i % 3}",
    )


def write_full_output(out, conflict: bool = False) -> dict:
    """Writes an output with all four tables and every manifest section; returns the manifest.

    Records 0-11 are kept, 12 is a near duplicate of doc-0, 13 is rejected, 14-15
    are not selected. With ``conflict``, doc-15 is also (wrongly) in data/.
    """
    tables = {
        "data": (RECORD_SCHEMA, [_data_row(i) for i in range(12)] + ([_data_row(15)] if conflict else [])),
        "duplicates": (DUPLICATE_SCHEMA, [{
            "id": "doc-12", "duplicate_of": "doc-0", "cluster_id": "c0", "similarity": 0.91, "kind": "near", **_location(12),
        }]),
        "rejected": (REJECTED_SCHEMA, [{
            "id": None, "reason": "invalid_json", "detail": "Expecting value", "raw": "{oops", **_location(13),
        }]),
        "not_selected": (NOT_SELECTED_SCHEMA, [{
            "id": f"doc-{i}", "reason": "over_stratum_quota", "origin": "synthetic", "origin_basis": "detector",
            "stratum": "topic-0", "synthetic_score": 0.9, "detector_id": "sha-detector", "cluster_size": 1,
            "inclusion_probability": 4 / 7,
            **_location(i),
        } for i in (14, 15)]),
    }
    shards = {}
    for name, (schema, rows) in tables.items():
        path = f"{name}/part-00000-of-00001.parquet"
        (out / name).mkdir(parents=True)
        pq.write_table(to_table(rows, schema), out / path)
        classes = {}
        for row in (rows if name == "data" else ()):
            classes[row["origin"]] = classes.get(row["origin"], 0) + 1
        shards[name] = [{"name": path.split("/")[1], "path": path, "rows": len(rows), "bytes": (out / path).stat().st_size,
                         "sha256": "0" * 64, "classes": classes}]
    records = 16 + (1 if conflict else 0)  # the accounting counts rows, so a conflict must balance to be written
    manifest = build_manifest(
        run_id=FULL_RUN_ID,
        config={"input": [f"{SOURCE_URI}:source=web"], "seed": 7, "shard_rows": 100, "overwrite": False,
                "num_shards": None, "min_real_fraction": 0.25},
        files=[{"uri": SOURCE_URI, "source": "web", "bytes": 1234, "records": records}],
        stage_counts={"valid": 15, "deduplicated": 14, "output": len(tables["data"][1])},
        reasons={"rejected": {"invalid_json": 1}, "duplicates": {"near": 1}, "not_selected": {"over_stratum_quota": 2}},
        tables=shards,
        extra={
            "detector": {"sha256": "sha-detector", "real_below": REAL_BELOW,
                         "test_metrics": {"overall": {"auroc": 0.97, "f1": 0.91}, "by_domain": {}}},
            "sampling": {
                "strata": {"topic-0": {"in": 7, "out": 4}, "topic-1": {"in": 4, "out": 4}, "topic-2": {"in": 4, "out": 4}},
                "tail": {"rarest_decile_kept_share": 1.0, "jensen_shannon_divergence": 0.01},
            },
        },
    )
    (out / "manifest.json").write_text(json.dumps(manifest, sort_keys=True))
    return manifest


@pytest.fixture
def full_output(tmp_path):
    """``(output dir, manifest)`` of a fabricated output where every stage ran."""
    out = tmp_path / "full"
    return str(out), write_full_output(out)
