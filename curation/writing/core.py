"""Shard planning and Parquet encoding, without Beam.

A table is written as ``part-JJJJJ-of-KKKKK.parquet`` shards. Records are split
into classes (for the data table: their ``origin``), and each class is spread
over the shards by an exact plan, so shard sizes differ by at most one row and a
class's share is the same in every shard. Within a shard rows are ordered by a
seeded hash: shuffled, yet the same bytes on every run with the same seed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import math
import re
from typing import Iterable, Mapping, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from curation.schema import to_table

UNKNOWN_CLASS = "unknown"  # class of data records whose origin is not decided
# Each shard is a file and a task; a fixed count beyond this is a typo, not a plan.
MAX_SHARDS = 100_000
_SHARD_NAME = re.compile(r"part-(\d{5,})-of-(\d{5,})\.parquet")


@dataclasses.dataclass(frozen=True)
class WriteOptions:
    """Where and how shards are written.

    Attributes:
      output: the output directory (local path or ``gs://...``).
      shard_rows: target rows per data shard.
      shard_bytes: target text bytes per data shard; the shard count is the
        larger of the two targets' counts.
      num_shards: a fixed number of data shards (overrides both targets).
      row_group_rows: rows per Parquet row group.
      compression: Parquet codec.
      overwrite: replace an earlier curation output in ``output``.
      seed: seeds shard assignment and the shuffle within shards.
      min_real_fraction: when set, every data shard is checked on read-back to
        hold at least this share of ``real`` records, and the job fails if not.
    """

    output: str
    shard_rows: int = 50_000
    shard_bytes: int = 256 * 1024 * 1024
    num_shards: int | None = None
    row_group_rows: int = 10_000
    compression: str = "zstd"
    overwrite: bool = False
    seed: int = 0
    min_real_fraction: float | None = None

    def __post_init__(self):
        if not self.output:
            raise ValueError("WriteOptions.output must name a directory")
        for name in ("shard_rows", "shard_bytes", "row_group_rows"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)}")
        if self.num_shards is not None and not 0 < self.num_shards <= MAX_SHARDS:
            raise ValueError(f"num_shards must be between 1 and {MAX_SHARDS:,}, got {self.num_shards}")
        if self.min_real_fraction is not None and not 0.0 < self.min_real_fraction <= 1.0:
            raise ValueError(f"min_real_fraction must be in (0, 1], got {self.min_real_fraction}")
        if self.compression not in ("zstd", "snappy", "gzip", "brotli", "lz4", "none"):
            raise ValueError(f"unsupported Parquet compression {self.compression!r}")


def data_shard_count(rows: int, text_bytes: int, options: WriteOptions) -> int:
    """How many data shards: a fixed count, or enough to meet both size targets (at least one)."""
    if options.num_shards:
        return options.num_shards
    return max(1, math.ceil(rows / options.shard_rows), math.ceil(text_bytes / options.shard_bytes))


def check_fixed_shard_count(rows: int, options: WriteOptions) -> None:
    """Refuses a fixed data shard count above the rows to write: every extra shard would be an empty file.

    Only known once the rows are counted, so the run fails here, before any shard is written.
    """
    if options.num_shards and options.num_shards > max(1, rows):
        raise ValueError(
            f"num_shards {options.num_shards} is more data shards than the {rows} rows to write: "
            f"give at most {max(1, rows)}, or leave it unset to size shards by shard_rows and shard_bytes"
        )


def side_table_shard_count(rows: int, options: WriteOptions) -> int:
    return max(1, math.ceil(rows / options.shard_rows))


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


def shard_name(index: int, count: int) -> str:
    return f"part-{index:05d}-of-{count:05d}.parquet"


def is_shard_name(name: str) -> bool:
    """Whether ``name`` is one :func:`shard_name` gives."""
    match = _SHARD_NAME.fullmatch(name)
    return bool(match) and shard_name(int(match[1]), int(match[2])) == name


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


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def class_counts_of(table: pa.Table, class_column: str | None) -> dict[str, int]:
    """Rows per class in a read-back shard (nulls count as ``unknown``)."""
    if class_column is None:
        return {}
    counts: dict[str, int] = {}
    for value in table.column(class_column).to_pylist():
        key = value if value is not None else UNKNOWN_CLASS
        counts[key] = counts.get(key, 0) + 1
    return counts


def check_shard(
    info: Mapping, read_back_rows: int, read_back_classes: Mapping[str, int], min_real_fraction: float | None
) -> list[str]:
    """What is wrong with a shard read back from storage (empty if nothing)."""
    problems = []
    if read_back_rows != info["rows"]:
        problems.append(f"{info['name']}: holds {read_back_rows} rows, planned {info['rows']}")
    planned = {k: v for k, v in info.get("classes", {}).items() if v}
    found = {k: v for k, v in read_back_classes.items() if v}
    if info.get("class_column") and found != planned:
        problems.append(f"{info['name']}: classes {found}, planned {planned}")
    if min_real_fraction is not None and read_back_rows:
        real = read_back_classes.get("real", 0)
        if real < min_real_fraction * read_back_rows - 1e-9:
            problems.append(
                f"{info['name']}: real fraction {real / read_back_rows:.4f} is below the floor {min_real_fraction}"
            )
    return problems
