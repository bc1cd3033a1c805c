"""Builders the tests share: records (through :func:`curation.schema.new_record`), a
labelled corpus for the detector, small complete outputs on disk, and snapshots of a
directory. Tests import builders from here, never from another test module."""

from __future__ import annotations

import io
import json
import os
import random

import pyarrow.parquet as pq

from curation import storage
from curation.audit.certify import certify
from curation.audit.options import AuditOptions
from curation.audit.sample import draw_sample
from curation.detection.labelled import LabelledDoc
from curation.detection.options import TrainConfig
from curation.hashing import seeded_hash64, sha256_hex
from curation.provenance.manifest import build_manifest
from curation.reading.files import read_file
from curation.reading.options import ReadOptions
from curation.schema import DUPLICATE_SCHEMA, NOT_SELECTED_SCHEMA, RECORD_SCHEMA, REJECTED_SCHEMA, new_record, to_table
from curation.writing import core
from curation.writing.options import WriteOptions
from tests.bad_input import MAX_TEXT_BYTES


def data_record(i: int, origin: str | None) -> dict:
    """Document ``i`` of a data table, its origin declared (or undecided: None)."""
    return new_record(id=str(i), text=f"text {i}", source="s", source_uri="u", source_index=i, run_id="r",
                      declared_origin=origin)


READ_URI = "/data/web.jsonl"


def read_options(**kw) -> ReadOptions:
    """ReadOptions of a test input: one JSONL file, origins declared as human/ai."""
    kw.setdefault("inputs", (READ_URI,))
    kw.setdefault("origin_field", "origin")
    kw.setdefault("origin_values", {"human": "real", "ai": "synthetic"})
    kw.setdefault("max_text_bytes", MAX_TEXT_BYTES)
    kw.setdefault("run_id", "run-test")
    return ReadOptions(**kw)


def read_bytes(data: bytes, options: ReadOptions | None = None, uri: str = READ_URI) -> list:
    """What the reader makes of ``data`` as the file ``uri``: its records and rejected rows."""
    options = options or read_options()
    return list(read_file(io.BytesIO(data), uri, options.inputs[0], options))


def write_shard(out, path, rows):
    """Writes ``rows`` as the data shard ``path`` under ``out``; returns its description."""
    data = core.encode_parquet(rows, RECORD_SCHEMA, WriteOptions(output=str(out)))
    (out / path).parent.mkdir(parents=True, exist_ok=True)
    (out / path).write_bytes(data)
    return {"name": path.split("/")[1], "path": path, "rows": len(rows), "bytes": len(data),
            "sha256": sha256_hex(data), "classes": {"real": len(rows)}}


def write_output(out, n=4, run_id="run-old"):
    """A small complete curation output in ``out``: one data shard, its manifest and a card."""
    shard = write_shard(out, "data/part-00000-of-00001.parquet", [data_record(i, "real") for i in range(n)])
    manifest = build_manifest(run_id=run_id, config={}, files=[{"uri": "u", "records": n}], stage_counts={},
                              reasons={}, tables={"data": [shard]})
    (out / storage.MANIFEST).write_text(json.dumps(manifest))
    (out / storage.CARD_FILE).write_text("# card\n")
    return manifest


def snapshot(directory):
    """Every file under ``directory``: ``{relative path: bytes}``."""
    return {os.path.relpath(os.path.join(d, f), directory): open(os.path.join(d, f), "rb").read()
            for d, _, names in os.walk(directory) for f in names}


# Few epochs, small windows and vectors: tests pin behaviour, not accuracy.
FAST_CONFIG = TrainConfig(window_tokens=32, dim=16, epoch=5)

_SYLLABLES = "ka lo mi ne ru ta ve si po da fe gu ri no sa te mu li be zo ha ni".split()


def _vocabulary(rng: random.Random, size: int) -> list[str]:
    """Pseudo-words: a realistic number of word types, used in Zipf order.

    A handful of word types makes fastText's SGD diverge ("Encountered NaN"), so
    the corpus needs a vocabulary of natural size.
    """
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(1, 4))))
    return sorted(words)


def _zipf_choices(rng: random.Random, words: list[str], k: int) -> list[str]:
    return rng.choices(words, weights=[1.0 / (rank + 1) for rank in range(len(words))], k=k)


def generate_corpus(n: int = 240, seed: int = 7) -> list[LabelledDoc]:
    """Labelled docs in two domains, about 1 in 4 real, with newlines and varied lengths.

    Both classes draw from one Zipf vocabulary; synthetic text favours a slice of
    it, so the task is learnable without being trivially separable.
    """
    rng = random.Random(seed)
    vocabulary = _vocabulary(rng, 3000)
    shared, synthetic_favourites = vocabulary[:2700], vocabulary[2700:]
    docs = []
    for i in range(n):
        synthetic = i % 4 != 0
        domain = "essays" if i % 2 else "news"
        sentences = []
        for _ in range(rng.randint(4, 14)):
            words = _zipf_choices(rng, shared, rng.randint(5, 25))
            if synthetic:
                words[rng.randrange(len(words))] = rng.choice(synthetic_favourites)
            sentences.append(" ".join(words).capitalize() + rng.choice([".", ".", ",", "!", "?"]))
        docs.append(
            LabelledDoc(
                id=f"doc-{i}",
                text="".join(s + rng.choice([" ", " ", "\n", "\n\n"]) for s in sentences).strip(),
                label="synthetic" if synthetic else "real",
                domain=domain,
                generator=rng.choice(["gen-a", "gen-b"]) if synthetic else "human",
            )
        )
    return docs


# The provenance tests' outputs: a real run of N_GOOD good records, and a fabricated one (write_full_output).
N_GOOD = 200
FULL_RUN_ID = "run-full"
SOURCE_URI = "corpus/web.jsonl"
REAL_BELOW = 0.3


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


def bytes_run(manifest: dict) -> dict:
    """The fabricated run as if sampled with --strata-fields genre --ratio-unit bytes."""
    shard = manifest["tables"]["data"]["shards"][0]
    shard["class_text_bytes"] = {"real": 300, "synthetic": 100}
    user_strata = {
        "genre=a": {"in": 10, "out": 5, "in_real": 4, "out_real": 4, "in_synthetic": 6, "out_synthetic": 1,
                    "in_real_text_bytes": 200, "out_real_text_bytes": 200, "in_synthetic_text_bytes": 400,
                    "out_synthetic_text_bytes": 100},
        "genre=b": {"in": 2, "out": 2, "in_real": 2, "out_real": 2, "in_real_text_bytes": 100, "out_real_text_bytes": 100},
    }
    manifest["sampling"] = {
        **manifest["sampling"], "ratio_unit": "bytes", "options": {"allocation": "unimax", "strata_fields": ["genre"]},
        "user_strata": user_strata, "real_share": {"rows": 0.75, "text": 0.75},
    }
    return manifest


AUDIT_RUN = "run-sim"


def simulated_audit_output(seed=1, shards=4, per_shard=150, leak=0.1, human=0.4, long_machine=False):
    """Shards of records with known authors: half declared; of the undeclared, half counted real,
    a ``leak`` share of those machine-written, and a ``human`` share of those counted synthetic human."""
    rng = random.Random(seed)
    tables = []
    for s in range(shards):
        records = []
        for i in range(per_shard):
            declared = rng.random() < 0.5
            counted = "real" if rng.random() < 0.6 else "synthetic"
            if declared:
                truth = counted
            elif counted == "real":
                truth = "synthetic" if rng.random() < leak else "real"
            else:
                truth = "real" if rng.random() < human else "synthetic"
            length = int(rng.lognormvariate(6, 0.6)) * (3 if long_machine and truth == "synthetic" else 1) + 1
            records.append({"id": f"s{s}-{i}", "origin": counted, "origin_basis": "declared" if declared else "detector",
                            "text_bytes": length, "truth": truth, "synthetic_score": rng.random()})
        tables.append(("data", f"part-{s}", records))
    return tables


def true_share(tables, unit="rows"):
    """The real share of the simulated tables by their authors, in ``unit``."""
    weight = (lambda r: r["text_bytes"]) if unit == "bytes" else (lambda r: 1)
    everything = [r for _, _, records in tables for r in records]
    return sum(weight(r) for r in everything if r["truth"] == "real") / sum(weight(r) for r in everything)


def audit_run(tables, size, seed, unit="rows", floor=None, confidence=0.95):
    """``(certification, draw)`` of an audit of ``size`` labels, each labelled by its true author."""
    draw = draw_sample(tables, AuditOptions(sample_size=size, seed=seed, unit=unit), AUDIT_RUN, {})
    sample = [{**record, "predicted_origin": record["origin"], "draws": n} for record, n in draw.picks]
    labels = {row["id"]: row["truth"] for row in sample}
    manifest = {"run_id": AUDIT_RUN, "config": {"min_real_fraction": floor}}
    return certify(manifest, draw.design, sample, labels, confidence), draw


def exact_boundaries(keys_by_group, ranks):
    """The oracle: the key at each rank by a full sort (None past the group's end)."""
    result = {}
    for group, group_ranks in ranks.items():
        ordered = sorted(keys_by_group.get(group, ()))
        result[group] = [ordered[r] if r < len(ordered) else None for r in group_ranks]
    return result


def ranked_keys(n, seed=0, prefix="doc"):
    """``n`` seeded order keys ``(hash, id)``, as the sampler and the writer rank records."""
    return [(seeded_hash64(f"{prefix}{i}", seed), f"{prefix}{i}") for i in range(n)]


def weighted_keys(n, prefix):
    """``n`` order keys, each with a weight (0 included), as bytes-weighted ranking sees them."""
    rng = random.Random(n)
    return [(k, rng.choice([0, 1, 3, 40, 700])) for k in ranked_keys(n, prefix=prefix)]


def exact_weighted_boundaries(items_by_group, positions):
    """The oracle for weights: the key covering each position by walking the sorted records."""
    result = {}
    for group, group_positions in positions.items():
        covering = [key for key, weight in sorted(items_by_group.get(group, ())) for _ in range(weight)]
        result[group] = [covering[p] if p < len(covering) else None for p in group_positions]
    return result
