"""The Beam steps that find near-duplicate pairs (curation.dedup.candidate_transforms)."""

import pytest
from apache_beam.pvalue import TaggedOutput
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.windowed_value import WindowedValue

from curation.dedup.candidate_transforms import (
    PAIRED_MEMBER_TAG,
    BandEntriesByShard,
    DistinctPairEnds,
    both_ends,
    send_to_partners,
)
from curation.dedup.minhash import band_keys
from curation.dedup.options import NearDedupOptions
from curation.dedup.sketch import band_shard, signature_array, sketch_text
from curation.dedup.survivor import Member
from tests.dedup.corpora import corpus_for_determinism

NEAR = NearDedupOptions()


def test_band_entries_leave_in_lists_per_shard_and_none_is_lost_at_the_bound():
    bands, rows = NEAR.bands_and_rows
    fn = BandEntriesByShard(bands, rows, shards=5, max_entries=3 * bands)  # full every third record
    records = corpus_for_determinism()
    members = [(r["id"], Member(r["id"], (0,), 1, sketch_text(r["text"], NEAR))) for r in records]
    fn.start_bundle()
    sent = [out for member in members for out in fn.process(member, window=GlobalWindow())]
    at_end = list(fn.finish_bundle())
    assert sent and all(isinstance(w, WindowedValue) for w in at_end)  # flushed before the end too
    sent += [w.value for w in at_end]
    entries = sorted(e for shard, batch in sent for e in batch)
    expected = sorted((key, record_id) for record_id, member in members
                      for key in band_keys(signature_array(member.sketch), bands, rows))
    assert entries == expected
    assert all(band_shard(key, 5) == shard for shard, batch in sent for key, _ in batch)


def _pair_ends(fn: DistinctPairEnds, shards: list) -> tuple[list, list]:
    """What DistinctPairEnds sends while its bundle runs, and at its end."""
    fn.start_bundle()
    sent = [out for shard in shards for out in fn.process(shard, window=GlobalWindow())]
    at_end = list(fn.finish_bundle())
    assert all(isinstance(w, WindowedValue) for w in at_end)
    return sent, [w.value for w in at_end]


def test_a_pair_found_in_several_shards_goes_on_once_per_bundle_keyed_by_both_ends():
    # (a, b) is found by three band keys in two shards; (b, c) by one
    shards = [(0, [[(b"k1", "b"), (b"k1", "a"), (b"k2", "a"), (b"k2", "b")]]),
              (1, [[(b"k3", "a"), (b"k3", "b")], [(b"k4", "c"), (b"k4", "b")]])]
    sent, at_end = _pair_ends(DistinctPairEnds(all_pairs_limit=10), shards)
    assert sent == []
    assert at_end == [*both_ends(("a", "b")), *both_ends(("b", "c"))]


def test_distinct_pair_ends_send_their_set_on_at_the_bound_and_lose_no_pair():
    shards = [(i, [[(b"k%d" % i, f"x{i}"), (b"k%d" % i, f"y{i}")]]) for i in range(5)]
    sent, at_end = _pair_ends(DistinctPairEnds(all_pairs_limit=10, max_pairs=2), shards)
    assert len(sent) == 2 * 4 and len(at_end) == 2  # two sets of two pairs, then the fifth at the end
    assert sorted(sent + at_end) == sorted(end for i in range(5) for end in both_ends((f"x{i}", f"y{i}")))


def _member(record_id: str) -> Member:
    return Member(record_id, (0,), 1, sketch_text(f"text of {record_id}", NEAR))


def _sent(node_id: str, values: list) -> tuple[list, list]:
    """send_to_partners' outputs: (for the comparison's join, to the paired members' output)."""
    compare, paired = [], []
    for out in send_to_partners((node_id, values)):
        if isinstance(out, TaggedOutput):
            assert out.tag == PAIRED_MEMBER_TAG
            paired.append(out.value)
        else:
            compare.append(out)
    return compare, paired


def test_both_ends_key_a_pair_by_each_of_its_ids():
    (first_key, later), (second_key, earlier) = both_ends(("a", "b"))
    assert (first_key, later) == ("a", "b")
    assert second_key == "b" and earlier.first_id == "a"


def test_a_first_member_goes_once_to_each_distinct_partner_and_is_not_joined_again():
    a = _member("a")
    # a's pair with b was found in two bands; a is no pair's second
    compare, paired = _sent("a", ["b", a, "b", "c"])
    assert sorted((key, value.member) for key, value in compare) == [("b", a), ("c", a)]
    assert paired == [("a", a)]


def test_only_a_pair_s_second_member_meets_its_partners_again():
    b = _member("b")
    # b is the second of (a, b), seen twice (two bands), and the first of (b, c)
    earlier = both_ends(("a", "b"))[1][1]
    compare, paired = _sent("b", [earlier, b, earlier, "c"])
    own = [value for key, value in compare if key == "b"]
    assert own == [b]  # once, for a's partner to meet
    assert [(key, value.member) for key, value in compare if key != "b"] == [("c", b)]
    assert paired == [("b", b)]


def test_a_member_in_no_pair_goes_nowhere():
    assert _sent("z", [_member("z")]) == ([], [])


def test_a_pair_whose_member_is_missing_or_repeated_fails_loudly():
    with pytest.raises(ValueError, match="id 'a' has 0 records"):
        _sent("a", ["b"])
    with pytest.raises(ValueError, match="id 'a' has 2 records"):
        _sent("a", ["b", _member("a"), _member("a")])
