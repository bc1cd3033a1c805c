"""Options of :class:`~curation.origin.transforms.DecideOrigin`: frozen, validated on construction."""

from __future__ import annotations

import dataclasses

from curation.schema import Origin


@dataclasses.dataclass(frozen=True)
class OriginOptions:
    """How records without a declared origin are counted (see :mod:`curation.origin.core`).

    Attributes:
      real_below: the detector's calibrated threshold (``real_below`` of its
        model.json); a score below it is real. None: no detector ran.
      assume_origin: how to count records with no declaration and no detector
        score (``real`` / ``synthetic``); None makes such a record an error.
    """

    real_below: float | None = None
    assume_origin: str | None = None

    def __post_init__(self):
        if self.assume_origin is not None and self.assume_origin not in {o.value for o in Origin}:
            raise ValueError(f"assume_origin must be real or synthetic, got {self.assume_origin!r}")
        if self.real_below is not None and not 0.0 <= self.real_below <= 1.0:  # NaN fails too
            raise ValueError(f"real_below is a P(synthetic) threshold and must be in [0, 1], got {self.real_below}")
