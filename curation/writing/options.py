"""Options of :class:`~curation.writing.transforms.WriteShards` and
:class:`~curation.writing.transforms.WriteCuratedOutput`: frozen, validated on construction."""

from __future__ import annotations

import dataclasses

from curation.schema import RatioUnit
from curation.shards import ShardTargets

COMPRESSIONS = ("zstd", "snappy", "gzip", "brotli", "lz4", "none")


@dataclasses.dataclass(frozen=True)
class WriteOptions:
    """Where and how shards are written.

    Attributes:
      output: the output directory (local path or ``gs://...``).
      shards: the shard size targets (the same object the sampler plans with);
        the data table's shard count is the larger of the two targets' counts,
        or the fixed ``shards.count``.
      row_group_rows: rows per Parquet row group.
      compression: Parquet codec.
      overwrite: replace an earlier curation output in ``output``.
      seed: seeds shard assignment and the shuffle within shards.
      min_real_fraction: when set, every data shard is checked on read-back to
        hold at least this share of ``real`` records (or of real text, with
        ``ratio_unit="bytes"``), and the job fails if not.
      ratio_unit: ``rows`` or ``bytes``: what the data table's shard plan and
        floor count (as the sampler's ``ratio_unit``).
    """

    output: str
    shards: ShardTargets = ShardTargets()
    row_group_rows: int = 10_000
    compression: str = "zstd"
    overwrite: bool = False
    seed: int = 0
    min_real_fraction: float | None = None
    ratio_unit: str = RatioUnit.ROWS.value

    def __post_init__(self):
        if not self.output:
            raise ValueError("WriteOptions.output must name a directory")
        if not isinstance(self.shards, ShardTargets):
            raise TypeError(f"WriteOptions.shards takes a ShardTargets, got {type(self.shards).__name__}")
        if self.row_group_rows <= 0:
            raise ValueError(f"row_group_rows must be positive, got {self.row_group_rows}")
        if self.min_real_fraction is not None and not 0.0 < self.min_real_fraction <= 1.0:
            raise ValueError(f"min_real_fraction must be in (0, 1], got {self.min_real_fraction}")
        if self.ratio_unit not in {u.value for u in RatioUnit}:
            raise ValueError(f"ratio_unit must be one of {[u.value for u in RatioUnit]}, got {self.ratio_unit!r}")
        if self.compression not in COMPRESSIONS:
            raise ValueError(f"unsupported Parquet compression {self.compression!r}")
