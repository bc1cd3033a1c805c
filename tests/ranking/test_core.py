"""Exact order statistics, the pure core (no Beam)."""

import pytest

from curation.ranking import core
from tests.factories import exact_boundaries, ranked_keys


def test_bin_bits_grow_with_group_size():
    assert core.bin_bits(0) == 0
    assert core.bin_bits(512) == 0
    assert core.bin_bits(513) == 1
    assert core.bin_bits(10**6) == 11
    assert core.bin_bits(10**12) == 20


def test_locate_ranks_walks_bins_in_order():
    histogram = {5: 3, 1: 2, 9: 1}
    assert core.locate_ranks(histogram, [0, 1, 2, 4, 5]) == {0: (1, 0), 1: (1, 1), 2: (5, 0), 4: (5, 2), 5: (9, 0)}
    with pytest.raises(ValueError):
        core.locate_ranks(histogram, [6])


@pytest.mark.parametrize("n", [1, 7, 600, 5000])
def test_two_pass_equals_full_sort(n):
    keys = ranked_keys(n)
    ranks = sorted({0, n // 3, n // 2, n - 1, n, n + 10})
    bits = core.bin_bits(n)
    histogram = {}
    for k in keys:
        histogram[core.key_bin(k, bits)] = histogram.get(core.key_bin(k, bits), 0) + 1
    located = core.locate_ranks(histogram, [r for r in ranks if r < n])
    got = []
    for r in ranks:
        if r >= n:
            got.append(None)
            continue
        bin_, offset = located[r]
        got.append(core.keys_at_offsets([(k, 1) for k in keys if core.key_bin(k, bits) == bin_], [offset])[offset])
    assert got == exact_boundaries({"g": keys}, {"g": ranks})["g"]


def test_bucket_of_counts_boundaries_at_or_below():
    keys = sorted(ranked_keys(10))
    boundaries = [keys[3], keys[7], None]
    assert [core.bucket_of(k, boundaries) for k in keys] == [0, 0, 0, 1, 1, 1, 1, 2, 2, 2]


def test_weighted_offsets_cover_positions_and_skip_weightless_keys():
    items = [((1, "a"), 2), ((2, "b"), 0), ((3, "c"), 3)]
    assert core.keys_at_offsets(items, [0, 1, 2, 4]) == {0: (1, "a"), 1: (1, "a"), 2: (3, "c"), 4: (3, "c")}
    assert core.bucket_of((1, "a"), [core.key_after((1, "a"))]) == 0
    assert core.bucket_of((2, "b"), [core.key_after((1, "a"))]) == 1
    # With extents: where the covering record starts, and its weight.
    assert core.covering_records(items, [1, 4]) == {1: ((1, "a"), 0, 2), 4: ((3, "c"), 2, 3)}
