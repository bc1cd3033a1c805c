import random

import pytest
from apache_beam.testing.util import assert_that, equal_to
import apache_beam as beam

from curation.hashing import seeded_hash64
from curation.ranking import core
from curation.ranking.transforms import RankBoundaries


def exact_boundaries(keys_by_group, ranks):
    """The oracle: the key at each rank by a full sort (None past the group's end)."""
    result = {}
    for group, group_ranks in ranks.items():
        ordered = sorted(keys_by_group.get(group, ()))
        result[group] = [ordered[r] if r < len(ordered) else None for r in group_ranks]
    return result


def _keys(n, seed=0, prefix="doc"):
    return [(seeded_hash64(f"{prefix}{i}", seed), f"{prefix}{i}") for i in range(n)]


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
    keys = _keys(n)
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
    keys = sorted(_keys(10))
    boundaries = [keys[3], keys[7], None]
    assert [core.bucket_of(k, boundaries) for k in keys] == [0, 0, 0, 1, 1, 1, 1, 2, 2, 2]


def test_rank_boundaries_in_a_pipeline(make_pipeline):
    rng = random.Random(3)
    groups = {"a": _keys(2000, prefix="a"), "b": _keys(300, prefix="b"), "empty": []}
    targets = {
        "a": (2000, [0, 1, 999, 1999, 2000]),
        "b": (300, sorted(rng.sample(range(300), 5))),
        "empty": (0, [0]),
    }
    expected = exact_boundaries(groups, {g: r for g, (_, r) in targets.items()})
    with make_pipeline() as p:
        keyed = p | beam.Create([(g, k) for g, ks in groups.items() for k in ks])
        result = keyed | RankBoundaries(p | "Targets" >> beam.Create([targets]))
        assert_that(result, equal_to([expected]))


def exact_weighted_boundaries(items_by_group, positions):
    """The oracle for weights: the key covering each position by walking the sorted records."""
    result = {}
    for group, group_positions in positions.items():
        covering = [key for key, weight in sorted(items_by_group.get(group, ())) for _ in range(weight)]
        result[group] = [covering[p] if p < len(covering) else None for p in group_positions]
    return result


def _weighted(n, prefix):
    rng = random.Random(n)
    return [(k, rng.choice([0, 1, 3, 40, 700])) for k in _keys(n, prefix=prefix)]


def test_weighted_offsets_cover_positions_and_skip_weightless_keys():
    items = [((1, "a"), 2), ((2, "b"), 0), ((3, "c"), 3)]
    assert core.keys_at_offsets(items, [0, 1, 2, 4]) == {0: (1, "a"), 1: (1, "a"), 2: (3, "c"), 4: (3, "c")}
    assert core.bucket_of((1, "a"), [core.key_after((1, "a"))]) == 0
    assert core.bucket_of((2, "b"), [core.key_after((1, "a"))]) == 1
    # With extents: where the covering record starts, and its weight.
    assert core.covering_records(items, [1, 4]) == {1: ((1, "a"), 0, 2), 4: ((3, "c"), 2, 3)}


def test_weighted_rank_boundaries_in_a_pipeline(make_pipeline):
    groups = {"a": _weighted(1500, "a"), "b": _weighted(40, "b")}
    totals = {g: sum(w for _, w in items) for g, items in groups.items()}
    targets = {
        g: (len(items), sorted({0, 1, totals[g] // 3, totals[g] // 2, totals[g] - 1, totals[g]}))
        for g, items in groups.items()
    }
    expected = exact_weighted_boundaries(groups, {g: r for g, (_, r) in targets.items()})
    with make_pipeline() as p:
        keyed = p | beam.Create([(g, k, w) for g, items in groups.items() for k, w in items])
        result = keyed | RankBoundaries(p | "Targets" >> beam.Create([targets]), weighted=True)
        assert_that(result, equal_to([expected]))


def test_weighted_rank_boundaries_with_extents_say_where_each_record_starts(make_pipeline):
    groups = {"a": _weighted(1500, "a"), "b": _weighted(40, "b")}
    totals = {g: sum(w for _, w in items) for g, items in groups.items()}
    targets = {g: (len(items), sorted({0, totals[g] // 3, totals[g] - 1})) for g, items in groups.items()}
    expected = {}
    for g, items in groups.items():
        ordered, start, extents = sorted(items), 0, {}
        for key, w in ordered:
            for position in range(start, start + w):
                extents[position] = (key, start, w)
            start += w
        expected[g] = [extents[r] for r in targets[g][1]]
    with make_pipeline() as p:
        keyed = p | beam.Create([(g, k, w) for g, items in groups.items() for k, w in items])
        result = keyed | RankBoundaries(p | "Targets" >> beam.Create([targets]), weighted=True, extents=True)
        assert_that(result, equal_to([expected]))
