import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from curation.detection import metrics


def brute_force_auroc(labels, scores):
    positives = [s for s, y in zip(scores, labels) if y]
    negatives = [s for s, y in zip(scores, labels) if not y]
    wins = sum((p > n) + 0.5 * (p == n) for p in positives for n in negatives)
    return wins / (len(positives) * len(negatives))


def test_average_ranks_share_ties():
    assert metrics.average_ranks(np.array([3.0, 1.0, 3.0, 2.0])).tolist() == [3.5, 1.0, 3.5, 2.0]


def test_auroc_known_answers():
    assert metrics.auroc([False, True], [0.1, 0.9]) == 1.0
    assert metrics.auroc([False, True], [0.9, 0.1]) == 0.0
    assert metrics.auroc([False, True, False, True], [0.5] * 4) == 0.5
    # Pairs (pos, neg): 0.4>0.1, 0.4=0.4 (half), 0.8>0.1, 0.8>0.4 -> 3.5 / 4.
    assert metrics.auroc([False, True, False, True], [0.1, 0.4, 0.4, 0.8]) == 0.875
    assert math.isnan(metrics.auroc([True, True], [0.1, 0.2]))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 5)), min_size=2, max_size=40))
def test_auroc_matches_pairwise_count_with_ties(pairs):
    labels, scores = zip(*pairs)
    if all(labels) or not any(labels):
        return
    assert metrics.auroc(labels, scores) == pytest.approx(brute_force_auroc(labels, scores))


def test_f1_known_answer():
    # Predicted synthetic: 3 (2 right); actual synthetic: 3 -> F1 = 2*2/(3+3).
    labels = [True, True, True, False, False]
    scores = [0.9, 0.8, 0.1, 0.7, 0.2]
    assert metrics.f1(labels, scores) == pytest.approx(4 / 6)


def test_tpr_at_fpr_uses_strictest_threshold_within_the_limit():
    negatives = np.arange(100) / 100.0  # 0.00 .. 0.99
    positives = np.array([0.985, 0.995, 0.5, 0.975])
    labels = [False] * 100 + [True] * 4
    scores = np.concatenate([negatives, positives])
    # 1% of 100 reals may be flagged: threshold 0.98 -> 0.985 and 0.995 flagged.
    assert metrics.tpr_at_fpr(labels, scores, 0.01) == 0.5
    # 5%: threshold 0.94 -> 0.975 joins.
    assert metrics.tpr_at_fpr(labels, scores, 0.05) == 0.75


def test_tpr_at_fpr_ties_never_count_as_flagged():
    assert metrics.tpr_at_fpr([False, False, True, True], [1.0, 1.0, 1.0, 1.0], 0.01) == 0.0


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(0, 1), min_size=1, max_size=300),
    st.floats(0, 0.5),
)
def test_real_below_keeps_synthetic_share_under_target(scores, share):
    threshold = metrics.real_below_threshold(scores, share)
    assert np.mean(np.asarray(scores) < threshold) <= share


def test_real_below_is_tight():
    scores = np.arange(1, 201) / 200.0
    threshold = metrics.real_below_threshold(scores, 0.01)
    assert np.sum(scores < threshold) == 2


def test_slice_metrics_generator_slice_holds_its_domains_real_docs():
    labels = [False, True, False, True, True]
    scores = [0.1, 0.9, 0.2, 0.8, 0.3]
    domains = ["a", "a", "b", "b", "b"]
    generators = ["human", "g1", "human", "g2", "g2"]
    result = metrics.slice_metrics(labels, scores, domains, generators, real_below=0.5)
    assert result["by_generator"]["g1"]["n"] == 2
    assert result["by_generator"]["g2"]["n"] == 3
    assert result["by_domain"]["b"]["auroc"] == 1.0
    assert result["overall"]["real_share_below_real_below"] == 1.0
    assert result["overall"]["synthetic_share_below_real_below"] == pytest.approx(1 / 3)


def test_summary_of_one_class_slice_is_json_safe():
    summary = metrics.summarize([True, True], [0.2, 0.9])
    assert summary["auroc"] is None and summary["tpr_at_1pct_fpr"] is None


def test_real_below_never_rounds_the_share_up():
    # Found by hypothesis: 0.49999999999999994 * 2 rounds to 1.0 in floating point.
    threshold = metrics.real_below_threshold([0.0, 1.0], 0.49999999999999994)
    assert np.mean(np.asarray([0.0, 1.0]) < threshold) == 0.0
