"""Detector metrics and calibration in plain numpy.

Convention everywhere: ``labels`` is a boolean array, True for synthetic (the
positive class); ``scores`` are P(synthetic), higher meaning more synthetic.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, Sequence

import numpy as np


def _as_arrays(labels: Sequence[bool], scores: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(labels, dtype=bool)
    s = np.asarray(scores, dtype=np.float64)
    if y.shape != s.shape or y.ndim != 1:
        raise ValueError(f"labels and scores must be 1-d and equally long, got {y.shape} and {s.shape}")
    return y, s


def average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks with ties given the mean of the ranks they span."""
    order = np.argsort(values, kind="mergesort")
    sorted_values = values[order]
    # Boundaries of runs of equal values in sorted order.
    starts = np.flatnonzero(np.r_[True, sorted_values[1:] != sorted_values[:-1]])
    ends = np.r_[starts[1:], len(values)]
    run_ranks = (starts + 1 + ends) / 2.0  # mean of ranks starts+1 .. ends
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = np.repeat(run_ranks, ends - starts)
    return ranks


def auroc(labels: Sequence[bool], scores: Sequence[float]) -> float:
    """Area under the ROC curve (Mann-Whitney U); ties count one half. NaN if a class is absent."""
    y, s = _as_arrays(labels, scores)
    n_pos = int(y.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return math.nan
    rank_sum = average_ranks(s)[y].sum()
    return float((rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def f1(labels: Sequence[bool], scores: Sequence[float], threshold: float = 0.5) -> float:
    """F1 of the synthetic class when ``score >= threshold`` predicts synthetic."""
    y, s = _as_arrays(labels, scores)
    predicted = s >= threshold
    true_pos = int((predicted & y).sum())
    denominator = int(predicted.sum()) + int(y.sum())
    return 2.0 * true_pos / denominator if denominator else math.nan


def tpr_at_fpr(labels: Sequence[bool], scores: Sequence[float], max_fpr: float) -> float:
    """Share of synthetic docs flagged at the strictest threshold keeping FPR <= ``max_fpr``.

    Flagged means ``score > t`` with ``t`` the (k+1)-th highest real score,
    k = floor(max_fpr * n_real): ties at ``t`` are not flagged, so ties can only
    lower the reported TPR, never push the FPR over the limit.
    """
    y, s = _as_arrays(labels, scores)
    negatives = np.sort(s[~y])[::-1]
    if len(negatives) == 0 or not y.any():
        return math.nan
    allowed = int(math.floor(max_fpr * len(negatives) + 1e-9))
    if allowed >= len(negatives):
        return 1.0
    return float((s[y] > negatives[allowed]).mean())


def real_below_threshold(synthetic_scores: Sequence[float], max_synthetic_share: float) -> float:
    """The score under which a document counts as real.

    Chosen so that at most ``max_synthetic_share`` of ``synthetic_scores`` are
    strictly below it: the (k+1)-th lowest synthetic score, k = floor(share * n).
    """
    if not 0.0 <= max_synthetic_share < 1.0:
        raise ValueError(f"max_synthetic_share must be in [0, 1), got {max_synthetic_share}")
    ordered = np.sort(np.asarray(synthetic_scores, dtype=np.float64))
    if len(ordered) == 0:
        raise ValueError("need at least one synthetic document to calibrate real_below")
    # Exact rational arithmetic: a float product may round up past the share (0.4999... * 2 -> 1).
    allowed = math.floor(Fraction(max_synthetic_share) * len(ordered))
    return float(ordered[allowed])


def summarize(labels: Sequence[bool], scores: Sequence[float], real_below: float | None = None) -> dict[str, Any]:
    """The metrics reported per slice: AUROC, F1@0.5, TPR at 1% and 5% FPR, counts.

    With ``real_below``, also the shares of real and synthetic docs under it
    (what the threshold keeps as real, and what it lets through by mistake).
    Undefined values (a class absent from the slice) are None, so the summary is valid JSON.
    """
    y, s = _as_arrays(labels, scores)
    summary: dict[str, Any] = {
        "n": int(len(y)),
        "n_real": int((~y).sum()),
        "n_synthetic": int(y.sum()),
        "auroc": auroc(y, s),
        "f1": f1(y, s),
        "tpr_at_1pct_fpr": tpr_at_fpr(y, s, 0.01),
        "tpr_at_5pct_fpr": tpr_at_fpr(y, s, 0.05),
    }
    if real_below is not None:
        below = s < real_below
        summary["real_share_below_real_below"] = float(below[~y].mean()) if (~y).any() else math.nan
        summary["synthetic_share_below_real_below"] = float(below[y].mean()) if y.any() else math.nan
    return {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in summary.items()}


def slice_metrics(
    labels: Sequence[bool],
    scores: Sequence[float],
    domains: Sequence[str],
    generators: Sequence[str],
    real_below: float | None = None,
) -> dict[str, Any]:
    """``summarize`` overall, per domain and per generator.

    A generator's slice holds its synthetic docs plus the real docs of the
    domains it appears in, so its AUROC is defined and comparable across generators.
    """
    y, s = _as_arrays(labels, scores)
    domain_array = np.asarray(domains, dtype=object)
    generator_array = np.asarray(generators, dtype=object)
    by_domain = {
        domain: summarize(y[mask], s[mask], real_below)
        for domain in sorted(set(domain_array.tolist()))
        for mask in [domain_array == domain]
    }
    by_generator = {}
    for generator in sorted(set(generator_array[y].tolist())):
        own = y & (generator_array == generator)
        real_of_its_domains = ~y & np.isin(domain_array, list(set(domain_array[own].tolist())))
        mask = own | real_of_its_domains
        by_generator[generator] = summarize(y[mask], s[mask], real_below)
    return {"overall": summarize(y, s, real_below), "by_domain": by_domain, "by_generator": by_generator}
