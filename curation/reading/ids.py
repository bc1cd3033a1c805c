"""Resolving records that share one id: the first by input location stays.

The check needs every id of the corpus to meet its peers, but not the records:
each split reports ``(id, uri, index)`` entries in buckets of a stable hash of
the id (:func:`id_bucket`), each bucket finds its reused ids
(:func:`first_location_of_reused_ids`), and the records then meet that (usually
empty) map one at a time (:func:`duplicate_id_row`). Location order makes the
choice the same on every run and worker count.
"""

from __future__ import annotations

import json
import zlib
from typing import Iterable

from curation.reading.records import RAW_EXCERPT_CHARS, rejected_row
from curation.schema import RejectReason

ID_BUCKETS = 256  # a bucket holds about 1/256 of the corpus's ids, on one worker

Location = tuple[str, int]  # (source_uri, source_index)


def id_bucket(record_id: str) -> int:
    """The id's bucket: a stable hash (crc32), the same in every worker process."""
    return zlib.crc32(record_id.encode("utf-8", "surrogatepass")) % ID_BUCKETS


def location(record: dict) -> Location:
    return record["source_uri"], record["source_index"]


def first_location_of_reused_ids(entries: Iterable[tuple[str, str, int]]) -> dict[str, Location]:
    """``(id, uri, index)`` entries -> ``{id: its first location}`` for the ids read more than once."""
    seen: dict[str, Location] = {}
    reused: set[str] = set()
    for record_id, uri, index in entries:
        first = seen.get(record_id)
        if first is None:
            seen[record_id] = (uri, index)
            continue
        reused.add(record_id)
        if (uri, index) < first:
            seen[record_id] = (uri, index)
    return {record_id: seen[record_id] for record_id in reused}


def duplicate_id_row(record: dict, kept_at: Location) -> dict:
    """The rejected row of a record whose id was first read at ``kept_at``."""
    uri, index = kept_at
    return rejected_row(
        RejectReason.DUPLICATE_ID,
        f"id already used at {uri}:{index}",
        record["source"], record["source_uri"], record["source_index"],
        json.dumps({"id": record["id"], "text": record["text"][:RAW_EXCERPT_CHARS]}, ensure_ascii=False),
        record["run_id"], record_id=record["id"],
    )
