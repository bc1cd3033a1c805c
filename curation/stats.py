"""Exact one-sided confidence bounds of a share, in plain Python and numpy.

Shared by the detector's calibration (how far the validation set can pin the
share of synthetic documents under ``real_below``) and the audit's certified
real share (how much machine text a labelled sample allows), so both state
their confidence the same way.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np


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

    # log C(n, i) for i <= observed, once: only the powers of p change during the search.
    i = np.arange(observed + 1, dtype=np.float64)
    log_choose = np.array([math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) for k in range(observed + 1)])

    def at_most_observed(p: float) -> float:  # P(Binomial(n, p) <= observed), summed in log space
        logs = log_choose + i * math.log(p) + (n - i) * math.log1p(-p)
        top = logs.max()
        return float(math.exp(top) * np.exp(logs - top).sum())

    # Newton's method on P(X <= observed) = 1 - confidence, kept inside a bisection
    # bracket; the derivative is closed-form: -n C(n-1, k) p^k (1-p)^(n-1-k).
    alpha = 1.0 - confidence
    log_slope = math.log(n) + math.lgamma(n) - math.lgamma(observed + 1) - math.lgamma(n - observed)
    low, high = observed / n, 1.0
    # Start near the root: the normal approximation, kept inside the bracket.
    spread = NormalDist().inv_cdf(confidence) * math.sqrt((low * (1 - low) + 1 / n) / n)
    p = min(max(low + spread, low + (high - low) * 1e-3), low + (high - low) * 0.999)
    for _ in range(200):
        excess = at_most_observed(p) - alpha
        if excess > 0:
            low = p
        else:
            high = p
        slope = math.exp(log_slope + observed * math.log(p) + (n - 1 - observed) * math.log1p(-p))
        step = p + excess / slope if slope > 0 else (low + high) / 2
        if abs(step - p) <= 1e-14 * p or high - low <= 1e-15:
            return max(step, p) if excess > 0 else p  # never under a p known to be too small
        p = step if low < step < high else (low + high) / 2
    return high


def share_lower_bound(observed: int, n: int, confidence: float = 0.95) -> float:
    """One-sided Clopper-Pearson lower bound of a share seen ``observed`` times in ``n``:
    one minus the upper bound of the complementary share."""
    if not 0 <= observed <= n or n == 0:
        raise ValueError(f"need 0 <= observed <= n and n > 0, got {observed} of {n}")
    return 1.0 - share_upper_bound(n - observed, n, confidence)
