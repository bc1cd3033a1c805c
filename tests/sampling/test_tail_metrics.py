import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from curation.sampling.tail_metrics import (
    StratumCounts,
    jensen_shannon_divergence,
    merge_counts,
    rare_type_tally,
    rare_vocabulary_coverage,
    rarest_strata_kept_share,
    stratum_counts,
    word_counts,
)


def test_stratum_counts_cover_both_sides():
    rows = stratum_counts({"b": 4, "a": 2}, {"a": 1, "new": 3})
    assert rows == [StratumCounts("a", 2, 1), StratumCounts("b", 4, 0), StratumCounts("new", 0, 3)]
    assert rows[0].kept_share == 0.5
    assert math.isnan(rows[2].kept_share)


def test_rarest_strata_are_the_bottom_decile_by_input_size():
    counts_in = {f"s{i:02d}": i for i in range(1, 21)}  # 20 strata: the rarest two are s01, s02
    counts_out = {"s01": 1, "s02": 0, "s20": 5}
    assert rarest_strata_kept_share(counts_in, counts_out) == pytest.approx(1 / 3)
    assert rarest_strata_kept_share({"a": 5}, {"a": 5}) == 1.0
    assert math.isnan(rarest_strata_kept_share({"a": 0}, {}))


def test_jensen_shannon_known_answers():
    assert jensen_shannon_divergence({"a": 3, "b": 1}, {"a": 30, "b": 10}) == 0.0
    assert jensen_shannon_divergence({"a": 1}, {"b": 7}) == 1.0
    # p = (1/2, 1/2), q = (1, 0), mixture (3/4, 1/4).
    expected = 0.5 * (0.5 * math.log2(2 / 3) + 0.5 * math.log2(2)) + 0.5 * math.log2(4 / 3)
    assert jensen_shannon_divergence({"a": 1, "b": 1}, {"a": 2}) == pytest.approx(expected)
    assert math.isnan(jensen_shannon_divergence({}, {"a": 1}))


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(st.sampled_from("abcdef"), st.integers(0, 1000)),
    st.dictionaries(st.sampled_from("abcdef"), st.integers(0, 1000)),
)
def test_jensen_shannon_is_symmetric_and_bounded(p, q):
    forward, backward = jensen_shannon_divergence(p, q), jensen_shannon_divergence(q, p)
    if sum(p.values()) and sum(q.values()):
        assert 0.0 <= forward <= 1.0
        assert forward == pytest.approx(backward)
    else:
        assert math.isnan(forward) and math.isnan(backward)


def test_rare_vocabulary_coverage_from_merged_summaries():
    words_in = merge_counts(word_counts(t) for t in ["Alpha beta beta", "gamma " * 6, "delta, alpha"])
    assert words_in == {"alpha": 2, "beta": 2, "gamma": 6, "delta": 1}
    words_out = merge_counts([word_counts("ALPHA gamma")])
    # Rare (<= 5 occurrences): alpha, beta, delta; only alpha survives.
    assert rare_vocabulary_coverage(words_in, words_out) == pytest.approx(1 / 3)
    assert rare_vocabulary_coverage(words_in, words_out, max_frequency=6) == pytest.approx(2 / 4)
    assert math.isnan(rare_vocabulary_coverage({"common": 9}, {}))


def test_rare_type_tallies_of_disjoint_vocabulary_parts_add_up():
    words_in = merge_counts(word_counts(t) for t in ["a b b c", "d e e e e e e", "f a g"])
    words_out = word_counts("a e g")
    whole = rare_type_tally(words_in, words_out)
    assert whole == (6, 2)  # rare: a b c d f g (e occurs 6 times); a and g are kept
    parts = [{w: n for w, n in words_in.items() if w < "d"}, {w: n for w, n in words_in.items() if w >= "d"}]
    tallies = [rare_type_tally(part, words_out) for part in parts]
    assert tuple(map(sum, zip(*tallies))) == whole


def test_merging_is_order_independent():
    parts = [{"a": 1}, {"b": 2, "a": 3}, {}]
    assert merge_counts(parts) == merge_counts(reversed(parts)) == {"a": 4, "b": 2}
