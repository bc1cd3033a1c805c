"""The run manifest and the accounting invariant, without Beam.

``manifest.json`` records what a run read, what it decided and what it wrote.
Its ``accounting`` section states the invariant every run must meet:

    records read == output rows + rejected + duplicates + not selected

A run whose numbers do not balance fails instead of writing a manifest.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Iterable, Mapping

import curation
from curation.schema import SCHEMA_VERSION, Fate, Origin


class AccountingError(RuntimeError):
    """The run's counts do not balance: some record was lost or counted twice."""


def config_hash(config: Mapping[str, Any]) -> str:
    """A short, stable hash of a configuration (sorted-key JSON)."""
    blob = json.dumps(config, sort_keys=True, default=str).encode("utf-8")
    return hashlib.sha256(blob).hexdigest()[:16]


def derive_run_id(config: Mapping[str, Any], inputs: Iterable[tuple[str, int]]) -> str:
    """A run id from the configuration and the input files' names and sizes.

    Deterministic on purpose: the run id is stamped on every row, so a random one
    would make two identical runs write different bytes.
    """
    blob = json.dumps({"config": config, "inputs": sorted(inputs)}, sort_keys=True, default=str)
    return "run-" + hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def accounting(files: Iterable[Mapping], tables: Mapping[str, Iterable[Mapping]]) -> dict[str, Any]:
    """The balance of records read against the rows of every fate's table."""
    read = sum(f["records"] for f in files)
    fates = {fate.value: sum(s["rows"] for s in tables.get(fate.table, ())) for fate in Fate}
    return {"records_read": read, **fates, "balanced": read == sum(fates.values())}


def funnel_counts(
    funnel: Mapping[str, tuple[str, str | None] | None],
    files: Iterable[Mapping],
    reasons: Mapping[str, Mapping[str, int]],
) -> dict[str, int]:
    """Records left after each stage of ``funnel`` (``{stage: removal before it}``, in order).

    The first stage holds the valid records: those read less the rejected. Each
    later stage holds the one before less its removal: None (nothing), ``(table,
    None)`` (every row of a removal table) or ``(table, reason)``; ``reasons``
    counts each removal table's rows by reason.
    """
    left = sum(f["records"] for f in files) - sum(reasons.get(Fate.REJECTED.table, {}).values())
    counts = {}
    for i, (stage, removal) in enumerate(funnel.items()):
        if removal is not None:
            if i == 0:
                raise ValueError(f"the funnel's first stage {stage!r} holds every valid record: it removes nothing")
            table, reason = removal
            removed = reasons.get(table, {})
            left -= sum(removed.values()) if reason is None else removed.get(reason, 0)
        counts[stage] = left
    return counts


def build_manifest(
    *,
    run_id: str,
    config: Mapping[str, Any],
    files: Iterable[Mapping],
    stage_counts: Mapping[str, int],
    reasons: Mapping[str, Mapping[str, int]],
    tables: Mapping[str, Iterable[Mapping]],
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Assembles the manifest; raises :class:`AccountingError` if the counts do not balance.

    Args:
      files: per input file ``{"uri", "source", "bytes", "records"}``.
      stage_counts: records after each stage, in pipeline order.
      reasons: per fate, counts by reason (``{"rejected": {"invalid_json": 3}}``).
      tables: per table, its shard descriptions (``name``, ``rows``, ``bytes``,
        ``sha256``, ``classes``).
      extra: further sections from later stages (detector, sampling, ...).
    """
    files = sorted(files, key=lambda f: f["uri"])
    tables = {name: sorted(shards, key=lambda s: s["name"]) for name, shards in tables.items()}
    balance = accounting(files, tables)
    if not balance["balanced"]:
        raise AccountingError(f"records do not balance: {balance}")
    manifest = {
        "run_id": run_id,
        "package": {"name": "curation", "version": curation.__version__},
        "schema_version": SCHEMA_VERSION,
        "config": dict(config),
        "config_hash": config_hash(config),
        "inputs": files,
        # A list, not an object: the pipeline's order survives sorted-key JSON.
        "stages": [{"stage": name, "records": n} for name, n in stage_counts.items()],
        "reasons": {fate: dict(sorted(counts.items())) for fate, counts in reasons.items()},
        "accounting": balance,
        "tables": {
            name: {
                "rows": sum(s["rows"] for s in shards),
                "bytes": sum(s["bytes"] for s in shards),
                "shards": [
                    {k: s[k] for k in ("name", "path", "rows", "bytes", "sha256", "classes", "class_text_bytes") if k in s}
                    for s in shards
                ],
            }
            for name, shards in tables.items()
        },
    }
    if extra:
        manifest.update(extra)
    return manifest


def data_shards(manifest: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(manifest.get("tables", {}).get(Fate.OUTPUT.table, {}).get("shards", []))


def class_totals(manifest: Mapping[str, Any], measure: str = "classes") -> dict[str, int]:
    """Output per origin class (``real``, ``synthetic``, ``unknown``), summed over the data
    shards: rows (``measure="classes"``) or UTF-8 bytes of text (``"class_text_bytes"``)."""
    totals: dict[str, int] = {}
    for shard in data_shards(manifest):
        for cls, n in shard.get(measure, {}).items():
            totals[cls] = totals.get(cls, 0) + n
    return dict(sorted(totals.items()))


def real_fraction(classes: Mapping[str, int]) -> float | None:
    """Share of ``real`` among all, per class: of rows as the writer's floor check counts
    them, or of text bytes (None when empty)."""
    total = sum(classes.values())
    return classes.get(Origin.REAL.value, 0) / total if total else None


def summarize(manifest: Mapping[str, Any]) -> str:
    """A few lines for a person: what went in, where each record went, where the output is."""
    balance = manifest["accounting"]
    tables = manifest["tables"]
    lines = [
        f"curation {manifest['package']['version']} run {manifest['run_id']}: "
        f"{balance['records_read']} records read from {len(manifest['inputs'])} file(s)"
    ]
    for fate in Fate:
        table = fate.table
        if table not in tables:
            continue
        detail = ""
        if fate is Fate.OUTPUT:
            detail = ", ".join(f"{cls} {n}" for cls, n in class_totals(manifest).items() if n)
            text_share = real_fraction(class_totals(manifest, "class_text_bytes"))
            if text_share is not None:
                detail += f"; real share of text {text_share:.1%}"
        else:
            reasons = manifest["reasons"].get(table, {})
            detail = ", ".join(f"{r} {n}" for r, n in sorted(reasons.items()))
        shards = len(tables[table]["shards"])
        lines.append(
            f"  {fate.value:<13}{balance[fate.value]:>9} rows in {shards} shard(s)" + (f"  ({detail})" if detail else "")
        )
    for name, count in manifest.get("counts", {}).items():
        lines.append(f"  {name} {count}")
    lines.append(f"  accounting   {'balanced' if balance['balanced'] else 'NOT BALANCED'}")
    return "\n".join(lines)
