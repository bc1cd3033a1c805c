"""Options of an audit draw (:func:`curation.audit.storage.draw_audit_sample`): frozen, validated on construction."""

from __future__ import annotations

import dataclasses

from curation.schema import RatioUnit


@dataclasses.dataclass(frozen=True)
class AuditOptions:
    """How large an audit sample to draw, and with which seed.

    Attributes:
      sample_size: labels wanted from the data shards (records in ``rows``
        mode, byte draws in ``bytes`` mode).
      not_selected_size: labels wanted from ``not_selected/`` (0: none); they
        measure what the sampler left out and never enter the certified share.
      seed: seeds the draw; the same seed gives the same (nested) sample.
      unit: ``rows`` or ``bytes``: the ratio unit of the run.
    """

    sample_size: int
    not_selected_size: int = 0
    seed: int = 0
    unit: str = RatioUnit.ROWS.value

    def __post_init__(self):
        if not isinstance(self.sample_size, int) or self.sample_size <= 0:
            raise ValueError(f"the audit sample size must be a positive integer, got {self.sample_size!r}")
        if not isinstance(self.not_selected_size, int) or self.not_selected_size < 0:
            raise ValueError(f"the not_selected sample size must be 0 or more, got {self.not_selected_size!r}")
        units = [u.value for u in RatioUnit]
        if self.unit not in units:
            raise ValueError(f"ratio unit must be one of {', '.join(units)}, got {self.unit!r}")
