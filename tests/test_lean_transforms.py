"""The small-graph join, reshuffle and combine (curation.lean_transforms)."""

import apache_beam as beam
import pytest
from apache_beam.testing.util import assert_that, equal_to

from curation.lean_transforms import batched, by_type, combine_per_key, group_together


def test_by_type_lists_every_kind_even_an_empty_one():
    assert by_type(["a", 1, "b", None], {"name": str, "count": int, "mark": type(None), "other": bytes}) == {
        "name": ["a", "b"], "count": [1], "mark": [None], "other": [],
    }


def test_by_type_refuses_a_value_of_no_kind():
    with pytest.raises(TypeError, match="float is none of"):
        by_type([1.5], {"name": str})


def test_group_together_joins_like_cogroupbykey(make_pipeline):
    with make_pipeline() as pipeline:
        left = pipeline | "Left" >> beam.Create([("k1", 1), ("k1", 2), ("k2", 3)])
        right = pipeline | "Right" >> beam.Create([("k2", "x"), ("k3", "y")])
        joined = group_together([left, right], "Join") | beam.MapTuple(
            lambda key, values: (key, {kind: sorted(v) for kind, v in by_type(values, {"left": int, "right": str}).items()})
        )
        assert_that(joined, equal_to([
            ("k1", {"left": [1, 2], "right": []}),
            ("k2", {"left": [3], "right": ["x"]}),
            ("k3", {"left": [], "right": ["y"]}),
        ]))


def test_combine_per_key_gives_what_combine_per_key_gives(make_pipeline):
    # Two keys per bundle at most: accumulators are flushed mid-bundle and merged after the shuffle.
    words = [f"w{i % 7}" for i in range(200)] + ["rare"]
    with make_pipeline() as pipeline:
        texts = pipeline | beam.Create(words)
        ours = combine_per_key(texts, "Ours", beam.combiners.CountCombineFn(), lambda w: (w[:2], w),
                               max_keys_per_bundle=2)
        beams = texts | beam.Map(lambda w: (w[:2], w)) | beam.CombinePerKey(beam.combiners.CountCombineFn())
        assert_that(ours, equal_to([("w0", 29), ("w1", 29), ("w2", 29), ("w3", 29), ("w4", 28), ("w5", 28),
                                    ("w6", 28), ("ra", 1)]), label="CheckOurs")
        assert_that(beams, equal_to([("w0", 29), ("w1", 29), ("w2", 29), ("w3", 29), ("w4", 28), ("w5", 28),
                                     ("w6", 28), ("ra", 1)]), label="CheckBeams")


def test_combine_per_key_takes_keyed_pairs_and_any_combine_fn(make_pipeline):
    pairs = [("a", 3), ("b", 1), ("a", 5), ("a", 4), ("b", 2)]
    with make_pipeline() as pipeline:
        top = combine_per_key(pipeline | beam.Create(pairs), "Top", beam.combiners.TopCombineFn(2))
        assert_that(top, equal_to([("a", [5, 4]), ("b", [2, 1])]))


def test_combine_per_key_then_replaces_each_result_in_the_merge_step(make_pipeline):
    pairs = [("a", 1), ("a", 2), ("b", 5), ("c", 1)]
    with make_pipeline() as pipeline:
        big = combine_per_key(pipeline | beam.Create(pairs), "Sum", beam.CombineFn.from_callable(sum),
                              then=lambda key, total: [f"{key}={total}"] if total >= 3 else [])
        assert_that(big, equal_to(["a=3", "b=5"]))



def test_batched_lists_every_element_once_in_batches_of_the_size(make_pipeline):
    with make_pipeline() as pipeline:
        batches = batched(pipeline | beam.Create(range(23)), "Batch", 5)

        def check(found):
            assert sorted(x for batch in found for x in batch) == list(range(23))
            assert all(1 <= len(batch) <= 5 for batch in found)

        assert_that(batches, check)


def test_batched_never_mixes_windows(make_pipeline):
    with make_pipeline() as pipeline:
        stamped = pipeline | beam.Create([(i, i) for i in range(12)]) | beam.MapTuple(
            lambda i, t: beam.window.TimestampedValue(i, t))
        windowed = stamped | beam.WindowInto(beam.window.FixedWindows(4))
        windows_of_batches = batched(windowed, "Batch", 3) | beam.Map(lambda batch: {x // 4 for x in batch})

        def check(found):
            assert found and all(len(windows) == 1 for windows in found), found

        assert_that(windows_of_batches, check)


def test_a_batch_needs_room_for_an_element():
    with pytest.raises(ValueError, match="at least one element"):
        batched(None, "Batch", 0)
