"""The Beam steps that decide clusters (curation.dedup.cluster_transforms)."""

import apache_beam as beam
from apache_beam.testing.util import assert_that

from curation.dedup.cluster_transforms import CLUSTER_KINDS, JoinClusterSummaries
from curation.lean_transforms import by_type
from curation.dedup.survivor import Member


def test_a_hot_cluster_is_checked_on_several_keys_each_with_its_summary(make_pipeline):
    # What every survivor round does with a cluster larger than members_per_key.
    members = [("root", Member(f"m{i:02d}", (i,), 1, None)) for i in range(50)] + [("alone", Member("x", (0,), 1, None))]
    with make_pipeline() as pipeline:
        clusters = pipeline | beam.Create(members)
        joined = clusters | JoinClusterSummaries(7, lambda member: member.id)
        grouped = joined | beam.MapTuple(lambda key, tagged: (key, by_type(tagged, CLUSTER_KINDS)))
        keys = grouped | beam.MapTuple(lambda key, grouped: (
            key[0], len(grouped["item"]), [(s.survivor.id, s.count) for s in grouped["summary"]]))

        def check(rows):
            hot = [row for row in rows if row[0] == "root"]
            assert len(hot) >= 5 and sum(n for _, n, _ in hot) == 50 and max(n for _, n, _ in hot) <= 14
            assert all(summary == [("m00", 50)] for _, _, summary in hot)
            assert [row for row in rows if row[0] == "alone"] == [("alone", 1, [])]

        assert_that(keys, check)
