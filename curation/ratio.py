"""The real:synthetic floor, read one way by everyone who plans or checks it.

A floor ``r`` given as a float is read as the decimal it was written as
(``0.8`` is 4/5, not the binary float just below it), so the sampler's plan and
the writer's read-back check agree to the last record.
"""

from __future__ import annotations

import math
from fractions import Fraction


def exact_fraction(value: float | Fraction, what: str) -> Fraction:
    """``value`` as an exact fraction in (0, 1]; floats read as their shortest decimal."""
    if isinstance(value, bool) or not isinstance(value, (int, float, Fraction)):
        raise ValueError(f"{what} must be a number in (0, 1], got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{what} must be a number in (0, 1], got {value!r}")
    exact = Fraction(repr(float(value))) if isinstance(value, float) else Fraction(value)
    if not 0 < exact <= 1:
        raise ValueError(f"{what} must be in (0, 1], got {value!r}")
    return exact


def holds_floor(real: int, total: int, min_real_fraction: float | Fraction) -> bool:
    """Whether ``real`` of ``total`` (rows or text bytes) is at least the floor; an empty total holds it."""
    return not total or real >= exact_fraction(min_real_fraction, "min_real_fraction") * total
