"""RankBoundaries in a pipeline, against a full sort."""

import random

import apache_beam as beam
from apache_beam.testing.util import assert_that, equal_to

from curation.ranking.transforms import RankBoundaries, _DerivedOnce
from tests.factories import exact_boundaries, exact_weighted_boundaries, ranked_keys, weighted_keys


def test_rank_boundaries_in_a_pipeline(make_pipeline):
    rng = random.Random(3)
    groups = {"a": ranked_keys(2000, prefix="a"), "b": ranked_keys(300, prefix="b"), "empty": []}
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


def test_weighted_rank_boundaries_in_a_pipeline(make_pipeline):
    groups = {"a": weighted_keys(1500, "a"), "b": weighted_keys(40, "b")}
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
    groups = {"a": weighted_keys(1500, "a"), "b": weighted_keys(40, "b")}
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


def test_rank_boundaries_derive_their_targets_and_output_from_a_plan(make_pipeline):
    keys = ranked_keys(500, prefix="k")
    plan = {"quota": 123, "label": "plan-1"}
    expected = exact_boundaries({"only": keys}, {"only": [123]})

    def targets_of(p):
        return {"only": (len(keys), [p["quota"]])}

    with make_pipeline() as p:
        keyed = p | beam.Create([("only", k) for k in keys])
        result = keyed | RankBoundaries(
            p | "Plan" >> beam.Create([plan]), targets_of=targets_of,
            then=lambda p, found: (p["label"], found),
        )
        assert_that(result, equal_to([("plan-1", expected)]))


def test_targets_are_derived_once_per_side_input_object():
    calls = []
    derived = _DerivedOnce(lambda plan: calls.append(plan) or {"g": (1, [plan["quota"]])})
    plan, other = {"quota": 1}, {"quota": 2}
    assert [derived(plan) for _ in range(3)] == [{"g": (1, [1])}] * 3
    assert derived(other) == {"g": (1, [2])} and derived(other) == {"g": (1, [2])}
    assert calls == [plan, other]
    assert _DerivedOnce(None)(plan) is plan  # no function: the element is the targets
