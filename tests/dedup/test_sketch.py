"""Document sketches, pair similarity and candidate pairs. (no Beam)"""

import random
import zlib

import pytest

from curation.dedup.options import NearDedupOptions
from curation.dedup.shingles import shingle_hash32, shingles
from curation.dedup.sketch import band_shard, candidate_pairs, similarity, sketch_text
from curation.dedup.survivor import (
    Member,
    survivor_verified_decisions,
)


# Two distinct words whose 32-bit shingle hashes collide (found by brute force over "w0".."w299999").
COLLIDING_WORDS = ("w10639", "w16645")


@pytest.mark.parametrize("verification", ["signature", "shingles"])
def test_one_shingle_texts_compare_their_text_not_a_colliding_hash(verification):
    a, b = COLLIDING_WORDS
    assert shingle_hash32(a) == shingle_hash32(b)
    options = NearDedupOptions(verification=verification)
    sketch_a, sketch_b = sketch_text(a, options), sketch_text(b, options)
    assert sketch_a.signature == sketch_b.signature  # MinHash alone cannot tell them apart
    assert similarity(sketch_a, sketch_b) == 0.0
    assert similarity(sketch_a, sketch_text(a.upper() + "!", options)) == 1.0  # equal once normalised
    four_words = "one two three four"
    assert similarity(sketch_text(four_words, options), sketch_text(four_words + ".", options)) == 1.0
    assert similarity(sketch_text("", options), sketch_text("?!", options)) == 1.0  # no words: alike


def test_exact_verification_is_the_jaccard_of_the_hashes_the_signature_is_built_from():
    rng = random.Random(7)
    options = NearDedupOptions(verification="shingles")
    words = [f"w{i}" for i in range(40)]
    for _ in range(20):
        a = " ".join(rng.choice(words) for _ in range(rng.randint(6, 60)))
        b = " ".join(rng.choice(words) for _ in range(rng.randint(6, 60)))
        set_a, set_b = ({shingle_hash32(s) for s in shingles(t, options.ngram_size)} for t in (a, b))
        expected = len(set_a & set_b) / len(set_a | set_b)
        assert similarity(sketch_text(a, options), sketch_text(b, options)) == pytest.approx(expected)
    # So a 32-bit collision counts as a shared shingle (about once in 8,600 pairs of 1,000
    # shingles, see shingles.py): these first shingles collide (brute force), the second is shared.
    a, b = "w17972", "w163847"
    assert shingle_hash32(f"{a} alpha beta gamma delta") == shingle_hash32(f"{b} alpha beta gamma delta")
    long_a, long_b = (f"{a} alpha beta gamma delta epsilon", f"{b} alpha beta gamma delta epsilon")
    assert similarity(sketch_text(long_a, options), sketch_text(long_b, options)) == 1.0


# Exact Jaccard 56/72 = 0.778, below 0.8, but the 256-permutation MinHash estimate (seed 1)
# is 0.82: one estimation error near the threshold (found by a search over suffix lengths).
NEAR_MISS_A = " ".join(f"w{i}" for i in range(68))  # 64 shingles
NEAR_MISS_B = " ".join([f"w{i}" for i in range(60)] + [f"x{i}" for i in range(8)])  # 56 of them, 8 new


def test_by_default_a_pair_below_the_threshold_is_never_removed_though_its_estimate_passes():
    signature_only = NearDedupOptions(verification="signature")
    estimate = similarity(sketch_text(NEAR_MISS_A, signature_only), sketch_text(NEAR_MISS_B, signature_only))
    assert estimate >= signature_only.threshold  # what verification="signature" would remove on
    options = NearDedupOptions()
    sketches = [sketch_text(t, options) for t in (NEAR_MISS_A, NEAR_MISS_B)]
    assert similarity(*sketches) == pytest.approx(56 / 72)
    members = [Member(f"m{i}", (i,), 1, sketch) for i, sketch in enumerate(sketches)]
    decisions, unverified = survivor_verified_decisions(
        [members], "near", similarity, options.threshold, options.survivor_rounds)
    assert decisions == {} and unverified == set()  # the survivor check keeps m1

def test_small_bucket_pairs_all_members_hot_bucket_is_a_star():
    small = [(b"k1", i) for i in ("d3", "d1", "d2", "d0")]
    assert sorted(candidate_pairs([small], 8)) == [
        ("d0", "d1"), ("d0", "d2"), ("d0", "d3"), ("d1", "d2"), ("d1", "d3"), ("d2", "d3")
    ]
    hot = [f"d{i:04d}" for i in range(2000)]
    pairs = list(candidate_pairs([[(b"k2", i) for i in reversed(hot)]], 8))
    assert len(pairs) == 1999 and {a for a, _ in pairs} == {"d0000"}
    assert {b for _, b in pairs} == set(hot[1:])


def test_candidate_pairs_depend_only_on_bucket_membership():
    """Any split of the entries into batches, in any order, gives the same pairs;
    the hub of a hot bucket is its smallest id even when it arrives last."""
    rng = random.Random(3)
    entries = [(b"hot", f"h{i:03d}") for i in range(40)]  # over the limit: a star
    entries += [(b"pair", "p1"), (b"pair", "p0"), (b"lone", "x0")]
    entries += [(f"b{i % 5}".encode(), f"m{i:02d}") for i in range(20)]  # five buckets of four
    expected = sorted(candidate_pairs([entries], 8))
    assert ("p0", "p1") in expected and not any("x0" in pair for pair in expected)
    assert [p for p in expected if p[0].startswith("h")] == [("h000", f"h{i:03d}") for i in range(1, 40)]
    for _ in range(5):
        shuffled = entries[:]
        rng.shuffle(shuffled)
        cuts = sorted(rng.sample(range(1, len(shuffled)), 4))
        batches = [shuffled[a:b] for a, b in zip([0] + cuts, cuts + [len(shuffled)])]
        assert sorted(candidate_pairs(batches, 8)) == expected


def test_band_shard_is_stable_and_in_range():
    keys = [bytes([i, 255 - i]) * 5 for i in range(200)]
    shards = [band_shard(k, 16) for k in keys]
    assert all(0 <= s < 16 for s in shards) and len(set(shards)) == 16
    assert band_shard(b"\x00\x01abc", 4096) == zlib.crc32(b"\x00\x01abc") % 4096
