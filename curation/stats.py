"""Exact one-sided confidence bounds of a share, in plain Python.

Shared by the detector's calibration (how far the validation set can pin the
share of synthetic documents under ``real_below``) and the audit's certified
real share (how much machine text a labelled sample allows), so both state
their confidence the same way.
"""

from __future__ import annotations

import math


def share_upper_bound(observed: int, n: int, confidence: float = 0.95) -> float:
    """One-sided Clopper-Pearson upper bound of a share seen ``observed`` times in ``n``.

    The share p at which seeing at most ``observed`` has probability ``1 - confidence``:
    how large the true share may be given so few draws (13 documents and none
    seen still allow 21%).
    """
    if not 0 <= observed <= n or n == 0:
        raise ValueError(f"need 0 <= observed <= n and n > 0, got {observed} of {n}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if observed == n:
        return 1.0

    def at_most_observed(p: float) -> float:  # P(Binomial(n, p) <= observed), summed in log space
        logs = [
            math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * math.log(p) + (n - i) * math.log1p(-p)
            for i in range(observed + 1)
        ]
        top = max(logs)
        return math.exp(top) * sum(math.exp(v - top) for v in logs)

    low, high = observed / n, 1.0
    for _ in range(60):  # bisection: at_most_observed falls as p grows
        middle = (low + high) / 2
        if middle > 0 and at_most_observed(middle) > 1 - confidence:
            low = middle
        else:
            high = middle
    return high



def share_lower_bound(observed: int, n: int, confidence: float = 0.95) -> float:
    """One-sided Clopper-Pearson lower bound of a share seen ``observed`` times in ``n``:
    one minus the upper bound of the complementary share."""
    if not 0 <= observed <= n or n == 0:
        raise ValueError(f"need 0 <= observed <= n and n > 0, got {observed} of {n}")
    return 1.0 - share_upper_bound(n - observed, n, confidence)
