"""How big a data shard may be, and the one formula for how many there are.

The sampler plans the data shards (the real:synthetic floor must hold in every
shard, so it needs their count before it selects) and the writer writes them:
both read one :class:`ShardTargets`, so they cannot disagree.
"""

from __future__ import annotations

import dataclasses
import math

# Each shard is a file and a task; a fixed count beyond this is a typo, not a plan.
MAX_SHARDS = 100_000


@dataclasses.dataclass(frozen=True)
class ShardTargets:
    """Attributes:
      rows: target rows per shard (of every table).
      text_bytes: target UTF-8 bytes of text per data shard.
      count: a fixed number of data shards (overrides both targets); None: sized by them.
    """

    rows: int = 50_000
    text_bytes: int = 256 * 1024 * 1024
    count: int | None = None

    def __post_init__(self):
        for name in ("rows", "text_bytes"):
            if getattr(self, name) <= 0:
                raise ValueError(f"shard {name} target must be positive, got {getattr(self, name)}")
        if self.count is not None and not 0 < self.count <= MAX_SHARDS:
            raise ValueError(f"num_shards must be between 1 and {MAX_SHARDS:,}, got {self.count}")

    def data_shard_count(self, documents: float, text_bytes: float) -> int:
        """The fixed count, or enough shards to meet both targets (at least one).

        ``documents`` and ``text_bytes`` may be estimates (the sampler derives one
        from the other by the candidates' average text size).
        """
        if self.count:
            return self.count
        return max(1, math.ceil(documents / self.rows), math.ceil(text_bytes / self.text_bytes))

    def side_table_shard_count(self, rows: int) -> int:
        """Shards of a table with no floor (rejected, duplicates, not_selected): by rows only."""
        return max(1, math.ceil(rows / self.rows))
