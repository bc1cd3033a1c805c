import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from curation.ratio import exact_fraction
from curation.sampling.allocation import (
    AllocationMethod,
    ImpossibleRequestError,
    allocate,
    allocate_levels,
    allocate_proportional,
    allocate_temperature,
    allocate_unimax,
    max_synthetic_bytes_for_shards,
    max_synthetic_for_shards,
    plan_budgets,
    plan_origin_totals,
    plan_shard_counts,
    unimax_cap,
)

PROPERTIES = settings(max_examples=150, deadline=None)


# ---- known answers --------------------------------------------------------------


def test_proportional_largest_remainder_ties_by_key():
    # Ideal 2.5, 1.5, 1.0: one document left, tied between a and b: a wins.
    assert allocate_proportional({"b": 3, "a": 5, "c": 2}, 5) == {"a": 3, "b": 1, "c": 1}


def test_unimax_keeps_small_strata_whole():
    assert allocate_unimax({"a": 10_000, "b": 100, "c": 5}, 1000) == {"a": 895, "b": 100, "c": 5}
    assert unimax_cap({"a": 10_000, "b": 100, "c": 5}, 1000) == 895


def test_unimax_leftover_goes_to_the_largest_then_by_key():
    assert allocate_unimax({"a": 3, "b": 7, "c": 9}, 14) == {"a": 3, "b": 5, "c": 6}
    assert allocate_unimax({"c": 10, "b": 10, "a": 10}, 8) == {"a": 3, "b": 3, "c": 2}


def test_temperature_one_is_proportional():
    sizes = {"a": 6, "b": 3, "c": 1}
    assert allocate_temperature(sizes, 7, 1.0) == allocate_proportional(sizes, 7) == {"a": 4, "b": 2, "c": 1}


def test_temperature_flattens_and_redistributes_the_excess():
    assert allocate_temperature({"a": 400, "b": 100}, 30, 2.0) == {"a": 20, "b": 10}
    # Uniform: c and then b saturate, a takes the rest.
    assert allocate_temperature({"a": 100, "b": 10, "c": 1}, 30, math.inf) == {"a": 19, "b": 10, "c": 1}
    # A tiny temperature must not overflow.
    assert sum(allocate_temperature({"a": 10**6, "b": 2}, 10, 0.01).values()) == 10


def test_budget_above_the_total_takes_everything_and_empty_inputs():
    for method in AllocationMethod:
        assert allocate({"a": 2, "b": 0}, 99, method) == {"a": 2, "b": 0}
        assert allocate({}, 5, method) == {}


@pytest.mark.parametrize(
    "sizes, budget", [({"a": -1}, 1), ({"a": 1.5}, 1), ({"a": 1}, -1), ({"a": True}, 1)]
)
def test_invalid_counts_raise(sizes, budget):
    with pytest.raises(ValueError):
        allocate(sizes, budget)


def test_origin_totals_known_answers():
    # The input mix (10:90) breaks r=0.5: the fewest real replacements give 50:50.
    assert plan_origin_totals(100, 900, min_real_fraction=0.5, sample_size=100) == (50, 50)
    # Mix already meets the ratio: kept.
    assert plan_origin_totals(900, 100, min_real_fraction=0.5, sample_size=100) == (90, 10)
    # No ratio: the input's mix.
    assert plan_origin_totals(100, 900, sample_size=100) == (10, 90)
    # Soft targets trim synthetic to the ratio.
    assert plan_origin_totals(100, 900, min_real_fraction=0.5, sample_fraction=0.3) == (100, 100)
    assert plan_origin_totals(100, 900, min_real_fraction=0.5) == (100, 100)
    # r = 0.1 is exactly one in ten, not the binary float just above it.
    assert plan_origin_totals(1, 100, min_real_fraction=0.1) == (1, 9)


def test_exact_size_that_the_ratio_cannot_meet_fails_early():
    with pytest.raises(ImpossibleRequestError, match="at most 200"):
        plan_origin_totals(100, 900, min_real_fraction=0.5, sample_size=300)
    with pytest.raises(ImpossibleRequestError, match="only 1000 are available"):
        plan_origin_totals(100, 900, sample_size=1001)


def test_per_shard_rounding_trims_synthetic():
    # Globally 10 real carry 90 synthetic at r=0.1, but 3 balanced shards need
    # ceil(0.1 * size) real each: sizes 31, 30, 30 need 4 + 3 + 3.
    assert max_synthetic_for_shards(10, 1, 0.1) == 90
    assert max_synthetic_for_shards(10, 3, 0.1) == 81
    assert plan_origin_totals(10, 90, min_real_fraction=0.1, num_shards=3) == (10, 81)
    assert plan_shard_counts(10, 81, 3, 0.1) == [(4, 27), (3, 27), (3, 27)]
    with pytest.raises(ImpossibleRequestError, match="at most 81"):
        plan_shard_counts(10, 82, 3, 0.1)


def test_plan_budgets_allocates_each_origin():
    plan = plan_budgets(
        {"x": 60, "y": 40}, {"x": 800, "y": 100}, min_real_fraction=0.5, sample_size=100
    )
    real, synthetic = plan
    assert (plan.real_total, plan.synthetic_total) == (50, 50)
    assert real == {"x": 25, "y": 25} and synthetic == {"x": 25, "y": 25}


# ---- properties -----------------------------------------------------------------


@st.composite
def stratum_sizes(draw):
    """Uniform sizes, or heavily skewed ones (10,000 geometrically down to 5)."""
    count = draw(st.integers(0, 30))
    if draw(st.booleans()) and count > 1:
        decay = draw(st.floats(0.05, 0.95))
        sizes = [max(5, round(10_000 * decay**i)) for i in range(count)]
    else:
        sizes = draw(st.lists(st.integers(0, 10_000), min_size=count, max_size=count))
    keys = draw(st.lists(st.text("abcdefgh|=", min_size=1, max_size=6), min_size=count, max_size=count, unique=True))
    return dict(zip(keys, sizes))


ratios = st.one_of(
    st.sampled_from([0.1, 0.25, 0.5, 0.7, 0.9, 0.95, 1.0]),
    st.fractions(min_value=Fraction(1, 100), max_value=1, max_denominator=101).filter(lambda r: r > 0),
)
methods = st.sampled_from(list(AllocationMethod))
temperatures = st.sampled_from([0.3, 1.0, 2.0, 5.0, math.inf])


@PROPERTIES
@given(stratum_sizes(), st.integers(0, 200_000), methods, temperatures)
def test_quotas_sum_exactly_and_fit(sizes, budget, method, temperature):
    quotas = allocate(sizes, budget, method, temperature)
    assert quotas.keys() == sizes.keys()
    assert sum(quotas.values()) == min(budget, sum(sizes.values()))
    assert all(0 <= quotas[k] <= n for k, n in sizes.items())


@PROPERTIES
@given(stratum_sizes(), st.integers(0, 200_000))
def test_unimax_is_water_filling(sizes, budget):
    quotas = allocate_unimax(sizes, budget)
    cap = unimax_cap(sizes, budget)
    for k, n in sizes.items():
        assert quotas[k] == n if n <= cap else quotas[k] in (cap, cap + 1)
    # A larger stratum never gets fewer documents than a smaller one.
    by_size = sorted(sizes, key=lambda k: (sizes[k], quotas[k]))
    assert [quotas[k] for k in by_size] == sorted(quotas[k] for k in by_size)


@PROPERTIES
@given(stratum_sizes(), st.integers(0, 100_000), st.integers(1, 5_000))
def test_unimax_is_monotone_in_the_budget(sizes, budget, more):
    smaller, larger = allocate_unimax(sizes, budget), allocate_unimax(sizes, budget + more)
    assert all(smaller[k] <= larger[k] for k in sizes)


def assert_shards_meet_ratio(shards, real_total, synthetic_total, r):
    assert sum(real for real, _ in shards) == real_total
    assert sum(synthetic for _, synthetic in shards) == synthetic_total
    sizes = [real + synthetic for real, synthetic in shards]
    assert max(sizes) - min(sizes) <= 1
    assert all(real >= r * (real + synthetic) for real, synthetic in shards)


@PROPERTIES
@given(st.integers(0, 50_000), ratios, st.integers(1, 64), st.data())
def test_shard_counts_meet_the_ratio_up_to_the_maximum(real_total, r, num_shards, data):
    r_exact = exact_fraction(r, "r")
    most = max_synthetic_for_shards(real_total, num_shards, r)
    global_bound = math.floor(real_total * (1 - r_exact) / r_exact)
    # Rounding costs each shard less than 1/r synthetic slots.
    assert max(0, math.floor((real_total - num_shards) / r_exact) - real_total) <= most <= global_bound
    synthetic_total = data.draw(st.integers(0, most))
    shards = plan_shard_counts(real_total, synthetic_total, num_shards, r)
    assert len(shards) == num_shards
    assert_shards_meet_ratio(shards, real_total, synthetic_total, r_exact)
    with pytest.raises(ImpossibleRequestError):
        plan_shard_counts(real_total, most + 1, num_shards, r)


@st.composite
def budget_requests(draw):
    request = draw(st.sampled_from(["size", "fraction", "everything"]))
    if request == "size":
        return dict(sample_size=draw(st.integers(0, 120_000)))
    if request == "fraction":
        return dict(sample_fraction=draw(st.sampled_from([0.01, 0.1, 0.333, 0.5, 0.9, 1.0])))
    return {}


@PROPERTIES
@given(stratum_sizes(), stratum_sizes(), st.one_of(st.none(), ratios), budget_requests(), st.integers(1, 16), methods)
def test_budget_plans_respect_ratio_shards_and_totals(real_sizes, synthetic_sizes, r, request, num_shards, method):
    real_available, synthetic_available = sum(real_sizes.values()), sum(synthetic_sizes.values())
    available = real_available + synthetic_available
    if r is None:
        room = synthetic_available
    else:
        room = min(synthetic_available, max_synthetic_for_shards(real_available, num_shards, r))
    if "sample_size" in request:
        target = request["sample_size"]
    elif "sample_fraction" in request:
        target = math.floor(exact_fraction(request["sample_fraction"], "f") * available)
    else:
        target = available
    feasible = target <= real_available + room

    kwargs = dict(min_real_fraction=r, num_shards=num_shards, method=method, **request)
    if "sample_size" in request and not feasible:
        with pytest.raises(ImpossibleRequestError):
            plan_budgets(real_sizes, synthetic_sizes, **kwargs)
        return
    plan = plan_budgets(real_sizes, synthetic_sizes, **kwargs)
    real, synthetic = plan.real_total, plan.synthetic_total
    assert real + synthetic == (target if feasible else real_available + room)
    assert all(0 <= plan.real_quotas[k] <= n for k, n in real_sizes.items())
    assert all(0 <= plan.synthetic_quotas[k] <= n for k, n in synthetic_sizes.items())
    if r is not None:
        shards = plan_shard_counts(real, synthetic, num_shards, r)
        assert_shards_meet_ratio(shards, real, synthetic, exact_fraction(r, "r"))
        # Real documents replace synthetic ones only as far as the ratio needs.
        mix_real = allocate_proportional({"real": real_available, "synthetic": synthetic_available}, real + synthetic)["real"]
        if feasible and real > mix_real:
            assert synthetic + 1 > min(synthetic_available, max_synthetic_for_shards(real - 1, num_shards, r))


# ---- levels and bytes ------------------------------------------------------------


@st.composite
def nested_strata(draw):
    """Outer strata (skewed or not) each split into cells of uneven sizes."""
    outer = draw(stratum_sizes())
    strata = {}
    for name, size in outer.items():
        cuts = sorted(draw(st.lists(st.integers(0, size), max_size=6)))
        bounds = [0, *cuts, size]
        strata[name] = {f"{name}/{i}": hi - lo for i, (lo, hi) in enumerate(zip(bounds, bounds[1:]))}
    return strata


@PROPERTIES
@given(nested_strata(), st.integers(0, 200_000), methods, temperatures)
def test_level_quotas_sum_exactly_and_fit(strata, budget, method, temperature):
    quotas = allocate_levels(strata, budget, method, temperature)
    total = sum(n for cells in strata.values() for n in cells.values())
    assert sum(q for cells in quotas.values() for q in cells.values()) == min(budget, total)
    for outer, cells in strata.items():
        assert quotas[outer].keys() == cells.keys()
        assert all(0 <= quotas[outer][c] <= n for c, n in cells.items())


@PROPERTIES
@given(nested_strata(), st.integers(0, 200_000))
def test_unimax_levels_keep_every_outer_stratum_under_its_cap_whole(strata, budget):
    quotas = allocate_levels(strata, budget)
    outer_sizes = {outer: sum(cells.values()) for outer, cells in strata.items()}
    cap = unimax_cap(outer_sizes, budget)
    for outer, cells in strata.items():
        if outer_sizes[outer] <= cap:
            assert quotas[outer] == cells
        else:  # the outer level is water-filled: cap or cap + 1
            assert sum(quotas[outer].values()) in (cap, cap + 1)


def test_levels_protect_a_rare_outer_stratum_whose_cells_are_common():
    # Cell "x" of the rare stratum has the same refinement as the big stratum's cells:
    # one level over cells would cap all 40 cells alike and cut the rare stratum.
    strata = {"big": {f"big|{i}": 50 for i in range(40)}, "rare": {"rare|0": 30, "rare|1": 30}}
    assert allocate_levels(strata, 200)["rare"] == {"rare|0": 30, "rare|1": 30}
    flat = allocate({c: n for cells in strata.values() for c, n in cells.items()}, 200)
    assert flat["rare|0"] < 30


def test_byte_reserve_known_answers():
    # One shard holds everything: no reserve; r = 0.8 lets 1000 real bytes carry 250.
    assert max_synthetic_bytes_for_shards(1000, 1, 0.8, 300, 300) == 250
    # Two shards: reserve 1 + 2 * (0.2 * 10 + 0.8 * 20) = 37 real-side bytes -> (200 - 37) / 0.8.
    assert max_synthetic_bytes_for_shards(1000, 2, 0.8, 10, 20) == 203
    assert max_synthetic_bytes_for_shards(10, 4, 0.5, 100, 100) == 0


def test_byte_budget_that_cannot_meet_the_floor_fails_early_with_what_is_available():
    with pytest.raises(ImpossibleRequestError, match=r"exactly 1300 bytes of text .* allow at most 1250"):
        plan_origin_totals(1000, 5000, min_real_fraction=0.8, sample_size=1300, unit="bytes", longest_documents=(9, 9))
    assert plan_origin_totals(1000, 5000, min_real_fraction=0.8, sample_size=1250, unit="bytes") == (1000, 250)
    with pytest.raises(ImpossibleRequestError, match="at most 1203 .*reserve of up to one longest document"):
        plan_origin_totals(
            1000, 5000, min_real_fraction=0.8, sample_size=1300, num_shards=2, unit="bytes", longest_documents=(10, 20)
        )
    # A soft target is trimmed to what the floor allows instead.
    assert plan_origin_totals(1000, 5000, min_real_fraction=0.8, sample_fraction=0.5, unit="bytes") == (1000, 250)
