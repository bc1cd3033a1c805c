"""Reading a run's shards and writing the audit files, through Beam's FileSystems
(so ``gs://`` works); no pipeline: a sample is a few hundred records.

Layout under the run's output directory:

    audit/design.json    the draw: run id, seed, unit, strata, per-shard counts and sha256
    audit/sample.jsonl   the sampled records, one JSON object a line
    audit/sample.csv     the same with an empty ``label`` column, for a person to fill in
    certification.json   written by certify, next to manifest.json

The run's own tables are only ever read.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Iterator, Mapping, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from curation import storage
from curation.audit.certify import AuditError
from curation.audit.options import AuditOptions
from curation.audit.sample import DATA_TABLE, NOT_SELECTED_TABLE, SAMPLE_COLUMNS, draw_sample, labelling_order

AUDIT_DIR = storage.AUDIT_DIR
DESIGN_FILE, SAMPLE_JSONL, SAMPLE_CSV, CERTIFICATION_FILE = (name.rpartition("/")[2] for name in storage.AUDIT_FILES)
_LIGHT_COLUMNS = ("id", "origin", "origin_basis", "source", "source_uri", "source_index", "synthetic_score")


def read_manifest(output_dir: str) -> dict[str, Any]:
    """The manifest of a complete run's output that no run is writing to; AuditError otherwise."""
    if storage.exists(storage.join(output_dir, storage.LOCK)):
        raise AuditError(f"{output_dir} is locked by {storage.join(output_dir, storage.LOCK)}: a run is writing there; "
                         "audit it when the run has finished")
    problems = storage.verify_output(output_dir, checksums=False)
    if problems:
        raise AuditError(f"{output_dir} is not a complete curation output: {'; '.join(problems)}")
    return storage.read_json(storage.join(output_dir, storage.MANIFEST))


def ratio_unit(manifest: Mapping[str, Any]) -> str:
    """The unit the run's ratio counts: ``rows`` unless the run chose ``bytes``."""
    return manifest.get("config", {}).get("ratio_unit") or "rows"


def _shards(manifest: Mapping[str, Any], table: str) -> list[Mapping[str, Any]]:
    return list(manifest.get("tables", {}).get(table, {}).get("shards", []))


def _light_records(output_dir: str, shard: Mapping[str, Any], has_text: bool) -> list[dict[str, Any]]:
    path = storage.join(output_dir, shard["path"])
    table = storage.read_parquet(path, _LIGHT_COLUMNS + (("text",) if has_text else ()))
    if has_text:
        # The byte length is all a draw needs; the texts of sampled records are read again later.
        table = table.append_column("text_bytes", pc.binary_length(table.column("text"))).drop_columns(["text"])
    else:
        table = table.append_column("text_bytes", pa.nulls(table.num_rows, pa.int64()))
    return table.to_pylist()


def _texts(output_dir: str, shard: Mapping[str, Any], ids: set[str]) -> dict[str, str]:
    table = storage.read_parquet(storage.join(output_dir, shard["path"]), ("id", "text"))
    table = table.filter(pc.is_in(table.column("id"), pa.array(sorted(ids), pa.string())))
    return dict(zip(table.column("id").to_pylist(), table.column("text").to_pylist()))


def draw_audit_sample(output_dir: str, options: AuditOptions) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``(design, sample rows)`` for the run in ``output_dir``; nothing is written."""
    manifest = read_manifest(output_dir)
    data = _shards(manifest, DATA_TABLE)
    not_selected = _shards(manifest, NOT_SELECTED_TABLE) if options.not_selected_size else []
    if options.not_selected_size and NOT_SELECTED_TABLE not in manifest.get("tables", {}):
        raise AuditError(f"run {manifest['run_id']} wrote no {NOT_SELECTED_TABLE}/ table (its sampler did not run)")

    def shards() -> Iterator[tuple[str, str, list[dict[str, Any]]]]:
        for shard in data:
            yield DATA_TABLE, shard["name"], _light_records(output_dir, shard, has_text=True)
        for shard in not_selected:
            yield NOT_SELECTED_TABLE, shard["name"], _light_records(output_dir, shard, has_text=False)

    draw = draw_sample(shards(), options, manifest["run_id"], {s["name"]: s["sha256"] for s in data})
    by_shard: dict[tuple[str, str], set[str]] = {}
    for record, _ in draw.picks:
        by_shard.setdefault((record["table"], record["shard"]), set()).add(record["id"])
    texts: dict[str, str] = {}
    for shard in data:
        ids = by_shard.get((DATA_TABLE, shard["name"]))
        if ids:
            texts.update(_texts(output_dir, shard, ids))
    rows = [
        {**{c: record.get(c) for c in SAMPLE_COLUMNS}, "run_id": manifest["run_id"], "predicted_origin": record["origin"],
         "draws": draws, "text": texts.get(record["id"], ""), "label": ""}
        for record, draws in draw.picks
    ]
    return draw.design, labelling_order(rows, options.seed)


def _csv_bytes(rows: Sequence[Mapping[str, Any]]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=list(SAMPLE_COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def write_audit_sample(output_dir: str, design: Mapping[str, Any], rows: Sequence[Mapping[str, Any]], overwrite: bool) -> str:
    """Writes ``audit/``; refuses to replace an earlier sample (its labels may be under way) unless ``overwrite``."""
    audit = storage.join(output_dir, AUDIT_DIR)
    if storage.exists(storage.join(audit, DESIGN_FILE)) and not overwrite:
        raise FileExistsError(f"{audit} already holds an audit sample; pass --overwrite to draw a new one")
    storage.ensure_dir(audit)
    jsonl = "".join(json.dumps(dict(r), ensure_ascii=False, sort_keys=True) + "\n" for r in rows).encode("utf-8")
    storage.write_bytes(storage.join(audit, SAMPLE_JSONL), jsonl)
    storage.write_bytes(storage.join(audit, SAMPLE_CSV), _csv_bytes(rows))
    # The design last: it marks the sample complete.
    storage.write_json(storage.join(audit, DESIGN_FILE), design)
    return audit


def load_audit_sample(output_dir: str, manifest: Mapping[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The design and sample of ``output_dir``'s audit, checked against the run it claims to sample."""
    audit = storage.join(output_dir, AUDIT_DIR)
    try:
        design = storage.read_json(storage.join(audit, DESIGN_FILE))
        raw = storage.read_bytes(storage.join(audit, SAMPLE_JSONL)).decode("utf-8")
    except (OSError, ValueError) as err:
        raise AuditError(f"no audit sample in {audit} ({err}); draw one with python -m pipelines.audit") from None
    rows = [json.loads(line) for line in raw.splitlines() if line.strip()]
    run_id = manifest["run_id"]
    other_runs = sorted(str(r) for r in {design.get("run_id")} | {r.get("run_id") for r in rows} if r != run_id)
    if other_runs:
        raise AuditError(f"the audit sample in {audit} was drawn from run {', '.join(other_runs)}, "
                         f"but {output_dir} holds run {run_id}: draw it again with python -m pipelines.audit")
    shards = {s["name"]: s["sha256"] for s in _shards(manifest, DATA_TABLE)}
    drawn = {name: s["sha256"] for name, s in design["shards"].items()}
    if shards != drawn:
        raise AuditError(f"the data shards of {output_dir} changed since the audit sample was drawn "
                         "(their sha256 differ): draw it again with python -m pipelines.audit")
    return design, rows


def records_of_run(output_dir: str, manifest: Mapping[str, Any], ids: set[str]) -> set[str]:
    """Which of ``ids`` are records of the run's data or not_selected tables."""
    found: set[str] = set()
    wanted = pa.array(sorted(ids), pa.string())
    for table in (DATA_TABLE, NOT_SELECTED_TABLE):
        for shard in _shards(manifest, table):
            column = storage.read_parquet(storage.join(output_dir, shard["path"]), ("id",)).column("id")
            found.update(column.filter(pc.is_in(column, wanted)).to_pylist())
    return found


def write_certification(output_dir: str, certification: Mapping[str, Any]) -> str:
    path = storage.join(output_dir, CERTIFICATION_FILE)
    storage.write_json(path, certification)
    return path
