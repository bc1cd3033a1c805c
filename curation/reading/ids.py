"""Resolving records that share one id."""

from __future__ import annotations

import json

from curation.reading.records import RAW_EXCERPT_CHARS, rejected_row
from curation.schema import RejectReason


def resolve_duplicate_ids(records: list[dict]) -> tuple[dict, list[dict]]:
    """Of records sharing one id, keeps the first by input location; rejects the rest.

    Returns ``(kept_record, rejected_rows)``. Location order makes the choice the
    same on every run and worker count.
    """
    ordered = sorted(records, key=lambda r: (r["source_uri"], r["source_index"]))
    kept = ordered[0]
    rejected = [
        rejected_row(
            RejectReason.DUPLICATE_ID,
            f"id already used at {kept['source_uri']}:{kept['source_index']}",
            r["source"], r["source_uri"], r["source_index"],
            json.dumps({"id": r["id"], "text": r["text"][:RAW_EXCERPT_CHARS]}, ensure_ascii=False),
            r["run_id"], record_id=r["id"],
        )
        for r in ordered[1:]
    ]
    return kept, rejected
