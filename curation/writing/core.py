"""Shard planning and Parquet encoding, without Beam.

A table is written as ``part-JJJJJ-of-KKKKK.parquet`` shards. Records are split
into classes (for the data table: their ``origin``), and each class is spread
over the shards by an exact plan, so shard sizes differ by at most one row and a
class's share is the same in every shard. Within a shard rows are ordered by a
seeded hash: shuffled, yet the same bytes on every run with the same seed.

With ``ratio_unit="bytes"`` the data table's plan counts UTF-8 bytes of text:
each class's bytes are spread evenly, and a shard takes the records whose last
byte falls in its share (so it differs from the plan by less than a document),
and the read-back check measures the real share of the text.
"""

from __future__ import annotations

import io
from typing import Iterable, Mapping, NamedTuple, Sequence

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curation.ratio import holds_floor
from curation.schema import UNKNOWN_CLASS, Origin, RatioUnit, to_table
from curation.writing.options import WriteOptions



def check_fixed_shard_count(rows: int, options: WriteOptions) -> None:
    """Refuses a fixed data shard count above the rows to write: every extra shard would be an empty file.

    Only known once the rows are counted, so the run fails here, before any shard is written.
    """
    count = options.shards.count
    if count and count > max(1, rows):
        raise ValueError(
            f"num_shards {count} is more data shards than the {rows} rows to write: "
            f"give at most {max(1, rows)}, or leave it unset to size shards by shard_rows and shard_bytes"
        )


def even_shard_plan(class_counts: Mapping[str, int], num_shards: int) -> list[dict[str, int]]:
    """Spreads each class over the shards as evenly as possible.

    Each class's remainder rows go to the shards after the previous class's
    remainders, so total shard sizes also differ by at most one.
    """
    if num_shards <= 0:
        raise ValueError("num_shards must be positive")
    plan = [dict.fromkeys(class_counts, 0) for _ in range(num_shards)]
    offset = 0
    for cls in sorted(class_counts):
        base, extra = divmod(class_counts[cls], num_shards)
        for j in range(num_shards):
            plan[j][cls] = base + (1 if (j - offset) % num_shards < extra else 0)
        offset = (offset + extra) % num_shards
    return plan


def cumulative_ranks(plan: Sequence[Mapping[str, int]], cls: str) -> list[int]:
    """Rank boundaries of a class: shard j takes ranks [c_j, c_{j+1}); returns c_1..c_{K-1}."""
    ranks, total = [], 0
    for shard in plan[:-1]:
        total += shard.get(cls, 0)
        ranks.append(total)
    return ranks


def encode_parquet(rows: Iterable[Mapping], schema: pa.Schema, options: WriteOptions) -> bytes:
    """The Parquet bytes of ``rows`` (in the given order)."""
    table = to_table(rows, schema)
    buffer = io.BytesIO()
    pq.write_table(
        table,
        buffer,
        compression=options.compression,
        row_group_size=options.row_group_rows,
        # Statistics on the text column bloat the footer with long min/max strings.
        write_statistics=[n for n in schema.names if n not in ("text", "raw", "metadata")],
    )
    return buffer.getvalue()


class ShardContents(NamedTuple):
    """What a shard read back from storage holds."""

    rows: int
    classes: Mapping[str, int]  # rows per class
    class_text_bytes: Mapping[str, int] | None = None  # UTF-8 bytes of text per class; None: not read


def _class_keys(table: pa.Table, class_column: str) -> pa.Array:
    return pc.fill_null(table.column(class_column), UNKNOWN_CLASS)


def class_counts_of(table: pa.Table, class_column: str | None) -> dict[str, int]:
    """Rows per class in a read-back shard (nulls count as ``unknown``)."""
    if class_column is None:
        return {}
    counts: dict[str, int] = {}
    for value in _class_keys(table, class_column).to_pylist():
        counts[value] = counts.get(value, 0) + 1
    return counts


def class_text_bytes_of(table: pa.Table, class_column: str) -> dict[str, int]:
    """UTF-8 bytes of the ``text`` column per class in a read-back shard."""
    sizes = pa.table({"class": _class_keys(table, class_column), "bytes": pc.binary_length(table.column("text"))})
    summed = sizes.group_by("class").aggregate([("bytes", "sum")]).to_pylist()
    return {row["class"]: row["bytes_sum"] or 0 for row in summed}


def _nonzero(counts: Mapping[str, int]) -> dict[str, int]:
    return {k: v for k, v in counts.items() if v}


def check_shard(
    info: Mapping, found: ShardContents, min_real_fraction: float | None, ratio_unit: str = RatioUnit.ROWS.value
) -> list[str]:
    """What is wrong with a shard read back from storage (empty if nothing).

    ``info["classes"]`` (and, when read back, ``info["class_text_bytes"]``) are
    what was written; the floor is checked in ``ratio_unit``, exactly (``r`` read
    as the decimal written, as the sampler plans it).
    """
    problems = []
    if found.rows != info["rows"]:
        problems.append(f"{info['name']}: holds {found.rows} rows, planned {info['rows']}")
    planned = _nonzero(info.get("classes", {}))
    if info.get("class_column") and _nonzero(found.classes) != planned:
        problems.append(f"{info['name']}: classes {_nonzero(found.classes)}, planned {planned}")
    if found.class_text_bytes is not None and _nonzero(found.class_text_bytes) != _nonzero(info["class_text_bytes"]):
        problems.append(
            f"{info['name']}: text bytes per class {_nonzero(found.class_text_bytes)}, "
            f"written {_nonzero(info['class_text_bytes'])}"
        )
    if min_real_fraction is not None:
        in_bytes = ratio_unit == RatioUnit.BYTES.value
        measure = found.class_text_bytes if in_bytes else found.classes
        if measure is None:
            raise ValueError("a floor in bytes needs the shard's text bytes read back")
        total, real = sum(measure.values()), measure.get(Origin.REAL.value, 0)
        if not holds_floor(real, total, min_real_fraction):
            what = "real share of text" if in_bytes else "real fraction"
            problems.append(f"{info['name']}: {what} {real / total:.4f} is below the floor {min_real_fraction}")
    return problems
