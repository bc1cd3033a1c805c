"""The small-graph join and reshuffle (curation.lean_transforms)."""

import apache_beam as beam
from apache_beam.testing.util import assert_that, equal_to

from curation.lean_transforms import by_tag, group_tagged, spread


def test_by_tag_lists_every_tag_even_an_empty_one():
    assert by_tag([("a", 1), ("b", 2), ("a", 3)], ("a", "b", "c")) == {"a": [1, 3], "b": [2], "c": []}


def test_group_tagged_joins_like_cogroupbykey(make_pipeline):
    with make_pipeline() as pipeline:
        left = pipeline | "Left" >> beam.Create([("k1", 1), ("k1", 2), ("k2", 3)])
        right = pipeline | "Right" >> beam.Create([("k2", "x"), ("k3", "y")])
        joined = group_tagged({"left": left, "right": right}, "Join") | beam.MapTuple(
            lambda key, tagged: (key, {tag: sorted(values) for tag, values in by_tag(tagged, ("left", "right")).items()})
        )
        assert_that(joined, equal_to([
            ("k1", {"left": [1, 2], "right": []}),
            ("k2", {"left": [3], "right": ["x"]}),
            ("k3", {"left": [], "right": ["y"]}),
        ]))


def test_spread_keeps_every_element_once(make_pipeline):
    elements = [("file", i) for i in range(50)] + [("file", 0)]  # a repeated element stays repeated
    with make_pipeline() as pipeline:
        assert_that(spread(pipeline | beam.Create(elements), "Spread"), equal_to(elements))
