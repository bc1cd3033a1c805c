"""The origin rule: which side of the real:synthetic guarantee a record counts on.

One function, :func:`decide_origin`, applied to every record once, after scoring
(:class:`~curation.origin.transforms.DecideOrigin`):

1. a declared origin (from the input's own metadata) wins: basis ``declared``;
2. else, if the record has a detector score and the job has a threshold:
   ``score < real_below`` is ``real``, anything else (including a score equal to
   the threshold and a NaN score) is ``synthetic``: basis ``detector``.
   Uncertainty counts against the guarantee, never for it;
3. else, if the user told the job how to count undecided records
   (``--assume-origin``): that, basis ``assumed``;
4. else :class:`UndecidedOriginError`: the job refuses to guess.
"""

from __future__ import annotations

import math

from curation.origin.options import OriginOptions
from curation.schema import Origin, OriginBasis


class UndecidedOriginError(ValueError):
    """A record has no declared origin, no usable detector score and no assumption."""


def _parse_origin(value: str | Origin, what: str) -> Origin:
    try:
        return Origin(value)
    except ValueError:
        allowed = ", ".join(repr(o.value) for o in Origin)
        raise ValueError(f"{what} must be one of {allowed}, got {value!r}") from None


def decide_origin(
    declared_origin: str | Origin | None,
    synthetic_score: float | None,
    real_below: float | None,
    assume: str | Origin | None = None,
) -> tuple[Origin, OriginBasis]:
    """Returns ``(origin, origin_basis)`` for one record (see the module rule).

    ``declared_origin``: the record's ``declared_origin`` column (None if undeclared).
    ``synthetic_score``: the detector's P(synthetic) (None if not scored).
    ``real_below``: the job's calibrated threshold (None when no detector is used).
    ``assume``: the user's explicit choice for undecided records, or None.

    Store ``origin.value`` / ``basis.value`` in the record (plain strings).
    """
    if declared_origin is not None:
        return _parse_origin(declared_origin, "declared_origin"), OriginBasis.DECLARED
    if real_below is not None and not math.isfinite(real_below):
        raise ValueError(f"real_below must be a finite number, got {real_below!r}")
    if synthetic_score is not None and real_below is not None:
        # NaN < x is False, so a NaN score lands on the synthetic side by construction.
        is_real = synthetic_score < real_below
        return (Origin.REAL if is_real else Origin.SYNTHETIC), OriginBasis.DETECTOR
    if assume is not None:
        return _parse_origin(assume, "assume"), OriginBasis.ASSUMED
    reason = (
        "it was not scored by the detector"
        if real_below is not None
        else "no detector threshold is configured"
    )
    raise UndecidedOriginError(
        "cannot tell whether a record is real or synthetic: it has no declared origin "
        f"and {reason}. Either run the synthetic-text detector (--detector) or say "
        "how to count undeclared records (--assume-origin real|synthetic)."
    )


def decided_record(record: dict, options: OriginOptions) -> dict:
    """``record`` with ``origin`` and ``origin_basis`` set by the rule."""
    origin, basis = decide_origin(
        record["declared_origin"], record["synthetic_score"], options.real_below, options.assume_origin
    )
    return {**record, "origin": origin.value, "origin_basis": basis.value}


def require_decided(record: dict) -> None:
    """Raises :class:`UndecidedOriginError` for a record no :class:`DecideOrigin` step has decided."""
    if record["origin"] is None:
        raise UndecidedOriginError(
            f"record {record['id']!r} has no origin: apply curation.DecideOrigin (after scoring) "
            "before sampling, so every record counts as real or synthetic"
        )
