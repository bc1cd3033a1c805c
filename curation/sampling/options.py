"""Options of :class:`~curation.sampling.transforms.SelectSample`: frozen, validated on construction."""

from __future__ import annotations

import dataclasses
import math

from curation.sampling.allocation import AllocationMethod
from curation.sampling.strata import validate_stratum_fields
from curation.schema import RatioUnit
from curation.shards import ShardTargets


@dataclasses.dataclass(frozen=True)
class SampleOptions:
    """What to select and how the selected records will be sharded.

    Attributes:
      min_real_fraction: every output shard holds at least this share of real
        records, or of real text with ``ratio_unit="bytes"`` (None: no floor).
      ratio_unit: ``rows`` (default) or ``bytes``: what the floor, the budget and
        the quotas count, documents or UTF-8 bytes of text.
      sample_size: select exactly this many records (with bytes: this many bytes
        of text, to within one document), or fail before writing.
      sample_fraction: select ``floor(f * candidates)`` records (with bytes:
        ``floor(f * candidate bytes)`` bytes), or as many as the ratio allows.
      strata_fields: record columns or ``metadata`` keys that define the user
        strata: the budget is allocated across them first, then within each
        across its built-in length bucket x topic cells.
      length_buckets: add the word-count bucket to the stratum.
      topics: number of k-means topics added to the stratum (0: none).
      topic_sample: documents the topic model is fitted on (a seeded sample).
      allocation: ``unimax`` (default: keeps every stratum under the cap whole),
        ``proportional`` or ``temperature``.
      temperature: T of the temperature allocation (weights n_i ** (1/T)).
      seed: seeds the topic sample and the selection ranks.
      shards: the shard size targets, the same object the writer's
        ``WriteOptions.shards`` holds: the sampler plans the shards because the
        ratio must hold in every shard.
    """

    min_real_fraction: float | None = None
    ratio_unit: str = RatioUnit.ROWS.value
    sample_size: int | None = None
    sample_fraction: float | None = None
    strata_fields: tuple[str, ...] = ("source",)
    length_buckets: bool = True
    topics: int = 8
    topic_sample: int = 5000
    allocation: str = AllocationMethod.UNIMAX.value
    temperature: float = 2.0
    seed: int = 0
    shards: ShardTargets = ShardTargets()

    def __post_init__(self):
        object.__setattr__(self, "strata_fields", tuple(self.strata_fields))
        validate_stratum_fields(self.strata_fields)
        if self.min_real_fraction is not None and not 0.0 < self.min_real_fraction <= 1.0:
            raise ValueError(f"min_real_fraction must be in (0, 1], got {self.min_real_fraction}")
        if self.ratio_unit not in {u.value for u in RatioUnit}:
            raise ValueError(f"ratio_unit must be one of {[u.value for u in RatioUnit]}, got {self.ratio_unit!r}")
        if self.sample_size is not None and self.sample_fraction is not None:
            raise ValueError("give sample_size or sample_fraction, not both")
        if self.sample_size is not None and self.sample_size < 1:
            raise ValueError(f"sample_size must be at least 1 (0 would select nothing), got {self.sample_size}")
        if self.sample_fraction is not None and not 0.0 < self.sample_fraction <= 1.0:
            raise ValueError(f"sample_fraction must be in (0, 1], got {self.sample_fraction}")
        if self.allocation not in {m.value for m in AllocationMethod}:
            raise ValueError(f"allocation must be one of {[m.value for m in AllocationMethod]}, got {self.allocation!r}")
        if not (self.temperature > 0 and math.isfinite(self.temperature)):
            raise ValueError(f"temperature must be a positive number, got {self.temperature}")
        if self.topics < 0 or self.topic_sample < 1:
            raise ValueError("topics must be >= 0 and topic_sample >= 1")
        if not isinstance(self.shards, ShardTargets):
            raise TypeError(f"SampleOptions.shards takes a ShardTargets, got {type(self.shards).__name__}")

    def as_config(self) -> dict:
        """The options as the manifest records them: flat, the shard targets under their flag names."""
        config = dataclasses.asdict(self)
        del config["shards"]
        shards = self.shards
        return {**config, "shard_rows": shards.rows, "shard_bytes": shards.text_bytes, "num_shards": shards.count}
