"""Pure dedup cores, without Beam."""

import random
import zlib

import datasketch
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from curation.dedup.components import (
    alternating_star_round,
    large_star,
    small_star,
    star_roots,
    union_find_roots,
)
from curation.dedup.minhash import band_keys, exact_jaccard, lsh_bands, signature
from curation.dedup.normalize import TextNormalization, normalize_text
from curation.dedup.options import ExactDedupOptions, NearDedupOptions
from curation.dedup.shingles import shingle_hash32, shingle_hashes, shingles
from curation.dedup.sketch import band_shard, candidate_pairs, similarity, sketch_text
from curation.dedup.survivor import (
    EMPTY_SUMMARY,
    Member,
    add_member,
    decision_for,
    merge_summaries,
    survivor_rank,
    survivor_verified_decisions,
)

WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron".split()


def random_text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) + rng.choice(["", ",", "."]) for _ in range(words))


# --- normalisation and shingles -------------------------------------------------


def test_normalize_nfkc_lower_punctuation_whitespace():
    assert normalize_text("  Don't — “STOP”!\n\tＡＢＣ  ﬁne ") == "dont stop abc fine"


def test_normalize_keeps_combining_marks_and_symbols():
    assert normalize_text("नमस्ते, 5$+3") == "नमस्ते 5$+3"


def test_normalize_options_can_be_switched_off():
    raw = TextNormalization(unicode_form=None, lowercase=False, strip_punctuation=False)
    assert normalize_text("A,  ﬁ", raw) == "A, ﬁ"


def test_normalization_rejects_unknown_form():
    with pytest.raises(ValueError, match="unicode_form"):
        TextNormalization(unicode_form="NFX")


def test_short_text_is_one_shingle_and_empty_has_none():
    assert shingles("a b c", 5) == ["a b c"]
    assert shingles("a b c d e f", 5) == ["a b c d e", "b c d e f"]
    assert shingles("", 5) == []
    assert shingle_hashes("", 5).size == 0


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=6).map(lambda w: "".join(w.split()) or "x"), max_size=20),
       st.integers(1, 6))
def test_vectorised_shingle_hashes_equal_the_reference(words, ngram):
    normalized = " ".join(words)
    expected = [shingle_hash32(s) for s in shingles(normalized, ngram)]
    assert shingle_hashes(normalized, ngram).tolist() == expected


# --- MinHash and LSH -------------------------------------------------------------


@pytest.mark.parametrize("num_perm,seed", [(128, 1), (256, 42)])
def test_signature_equals_datasketch(num_perm, seed):
    normalized = normalize_text(random_text(random.Random(seed), 300))
    reference = datasketch.MinHash(num_perm=num_perm, seed=seed, hashfunc=shingle_hash32)
    reference.update_batch(shingles(normalized, 5))
    ours = signature(shingle_hashes(normalized, 5), num_perm, seed)
    assert ours.dtype == reference.hashvalues.dtype
    assert np.array_equal(ours, reference.hashvalues)
    # and it loads back into datasketch for use with MinHashLSH
    lean = datasketch.LeanMinHash(seed=seed, hashvalues=ours, scheme="affine32")
    assert lean.jaccard(datasketch.LeanMinHash(reference)) == 1.0


def test_empty_signature_equals_untouched_datasketch_minhash():
    assert np.array_equal(signature(np.empty(0, np.uint32), 64, 1), datasketch.MinHash(64, 1).hashvalues)


def test_band_keys_match_datasketch_lsh_buckets():
    bands, rows = NearDedupOptions(num_perm=128).bands_and_rows
    lsh = datasketch.MinHashLSH(threshold=0.8, num_perm=128, weights=(0.1, 0.9))
    assert (lsh.b, lsh.r) == (bands, rows)
    rng = random.Random(3)
    base = random_text(rng, 200)
    variants = [base + " omega" * k for k in range(0, 80, 8)] + [random_text(rng, 200)]
    sigs = [signature(shingle_hashes(normalize_text(t), 5), 128, 1) for t in variants]
    lsh.insert("base", datasketch.LeanMinHash(seed=1, hashvalues=sigs[0], scheme="affine32"))
    outcomes = set()
    for sig in sigs[1:]:
        shares_bucket = bool(set(band_keys(sigs[0], bands, rows)) & set(band_keys(sig, bands, rows)))
        found = lsh.query(datasketch.LeanMinHash(seed=1, hashvalues=sig, scheme="affine32"))
        assert shares_bucket == (found == ["base"])
        outcomes.add(shares_bucket)
    assert outcomes == {True, False}  # both cases were exercised


def test_lsh_bands_uses_datasketch_optimum():
    assert lsh_bands(0.8, 128, 0.5, 0.5) == (9, 13)


def test_exact_jaccard():
    a, b = np.array([1, 2, 3], np.uint32), np.array([2, 3, 4], np.uint32)
    assert exact_jaccard(a, b) == 0.5
    assert exact_jaccard(a[:0], b[:0]) == 1.0


@settings(max_examples=200, deadline=None)
@given(st.sets(st.integers(0, 60)), st.sets(st.integers(0, 60)))
def test_exact_jaccard_equals_set_jaccard(set_a, set_b):
    arrays = [np.array(sorted(s), np.uint64) for s in (set_a, set_b)]
    expected = len(set_a & set_b) / len(set_a | set_b) if set_a | set_b else 1.0
    assert exact_jaccard(*arrays) == pytest.approx(expected)
    assert exact_jaccard(*reversed(arrays)) == pytest.approx(expected)


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


def test_exact_verification_uses_64_bit_shingle_hashes():
    # The first shingles "w17972 alpha beta gamma delta" / "w163847 ..." collide at 32 bits (brute force).
    a, b = "w17972", "w163847"
    assert shingle_hash32(f"{a} alpha beta gamma delta") == shingle_hash32(f"{b} alpha beta gamma delta")
    options = NearDedupOptions(verification="shingles")
    long_a, long_b = (f"{a} alpha beta gamma delta epsilon", f"{b} alpha beta gamma delta epsilon")
    assert similarity(sketch_text(long_a, options), sketch_text(long_b, options)) == pytest.approx(1 / 3)


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

# --- buckets ---------------------------------------------------------------------


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


# --- connected components --------------------------------------------------------


def converge(edges, rounds=30):
    for _ in range(rounds):
        edges = alternating_star_round(edges)
        roots = star_roots(edges)
        if all(len(r) == 1 for r in roots.values()):
            return {node: next(iter(r)) for node, r in roots.items()}
    raise AssertionError("did not converge")


def test_star_steps():
    assert sorted(large_star("b", ["a", "c", "d"])) == [("a", "c"), ("a", "d")]
    assert sorted(small_star("d", ["b", "a"])) == [("a", "b"), ("a", "d")]


@pytest.mark.parametrize("order", ["sorted", "shuffled"])
def test_chain_converges_to_union_find(order):
    ids = [f"{i:04d}" for i in range(500)]
    if order == "shuffled":
        random.Random(7).shuffle(ids)
    edges = [tuple(sorted(pair)) for pair in zip(ids, ids[1:])]
    assert converge(edges) == union_find_roots(ids, edges)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40)), max_size=80))
def test_random_graphs_match_union_find(pairs):
    edges = sorted({(f"{min(a, b):02d}", f"{max(a, b):02d}") for a, b in pairs if a != b})
    expected = {n: r for n, r in union_find_roots([], edges).items()}
    assert (converge(edges) if edges else {}) == expected


def test_unconverged_graph_is_detected():
    roots = star_roots([("a", "b"), ("b", "c")])  # b is a leaf and a centre
    assert len(roots["b"]) == 2


# --- survivor policy ---------------------------------------------------------------


def record(rid, text="x", origin=None, **extra):
    return {"id": rid, "text": text, "declared_origin": origin, "source": "s",
            "source_uri": "u", "source_index": 0, **extra}


def test_default_policy_real_then_synthetic_then_null_then_longest_then_id():
    policy = ExactDedupOptions().survivor_policy
    records = [record("a", "long text", None), record("b", "t", "synthetic"), record("c", "tt", "real"),
               record("d", "ttt", "real"), record("e", "ttt", "real")]
    ranked = sorted(records, key=lambda r: survivor_rank(r, policy))
    assert [r["id"] for r in ranked] == ["d", "e", "c", "b", "a"]


def test_cluster_summaries_merge_in_any_grouping_to_the_whole_clusters_summary():
    members = [Member(f"m{i}", (i % 3, f"m{i}"), 1 + i % 2, None) for i in range(10)]
    whole = EMPTY_SUMMARY
    for member in members:
        whole = add_member(whole, member)
    assert whole == (members[0], 10, 15)
    parts = []
    for chunk in (members[7:], members[:3], members[3:7]):
        part = EMPTY_SUMMARY
        for member in reversed(chunk):
            part = add_member(part, member)
        parts.append(part)
    assert merge_summaries(parts + [EMPTY_SUMMARY]) == whole
    # Any part of the members is decided the same as within the whole cluster.
    assert decision_for("m5", None, whole, "exact", lambda a, b: 1.0) == ("m0", "exact:m0", 15, 1.0, "exact")


def resolve_cluster(members, kind, similarity):
    """A whole cluster in memory: summarised, then every member decided."""
    summary = EMPTY_SUMMARY
    for member in members:
        summary = add_member(summary, member)
    return [(m.id, decision_for(m.id, m.sketch, summary, kind, similarity)) for m in members] if len(members) > 1 else []


def test_resolve_cluster_is_order_independent_and_sums_weights():
    policy = ("earliest_source",)
    members = [Member(f"m{i}", survivor_rank(record(f"m{i}", source_index=9 - i), policy), 2, None)
               for i in range(5)]
    out = dict(resolve_cluster(members, "exact", lambda a, b: 1.0))
    assert out == dict(resolve_cluster(list(reversed(members)), "exact", lambda a, b: 1.0))
    assert {d.survivor_id for d in out.values()} == {"m4"}
    assert {d.cluster_size for d in out.values()} == {10}
    assert out["m4"].cluster_id == "exact:m4"
    assert list(resolve_cluster(members[:1], "exact", lambda a, b: 1.0)) == []


def chain_similarity(a, b):
    """Members' sketches are positions on a line: neighbours are alike, two apart are not."""
    return {0: 1.0, 1: 0.85}.get(abs(a - b), 0.5)


def test_survivor_verified_rounds_remove_only_against_a_matching_survivor():
    members = [Member(f"n{i:02d}", (i,), 1 + (i == 2), i) for i in range(7)]  # a chain, ranked by position
    decisions, unverified = survivor_verified_decisions([members], "near", chain_similarity, 0.8, rounds=10)
    removed = {m: d.survivor_id for m, d in decisions.items() if d.survivor_id != m}
    assert removed == {"n01": "n00", "n03": "n02", "n05": "n04"} and unverified == set()
    assert all(d.similarity >= 0.8 for d in decisions.values())
    assert decisions["n02"].cluster_size == 3 and decisions["n02"].cluster_id == "near:n02"  # n02 weighs 2
    assert "n06" not in decisions  # checked against every survivor, matched none: kept, in no cluster
    # Two rounds leave a cluster of two or more undecided: kept, and said so.
    decisions, unverified = survivor_verified_decisions([members], "near", chain_similarity, 0.8, rounds=2)
    assert set(decisions) == {"n00", "n01", "n02", "n03"} and unverified == {"n04", "n05", "n06"}


# --- options -------------------------------------------------------------------------


@pytest.mark.parametrize("field,value,message", [
    ("threshold", 1.0, "threshold"), ("ngram_size", 0, "ngram_size"), ("num_perm", 8, "num_perm"),
    ("verification", "fuzzy", "verification"), ("all_pairs_bucket_limit", 1, "all_pairs_bucket_limit"), ("band_shards", 0, "band_shards"),
    ("max_component_rounds", 0, "max_component_rounds"), ("survivor_policy", ("newest",), "newest"),
    ("survivor_rounds", 0, "survivor_rounds"),
])
def test_near_options_are_validated(field, value, message):
    with pytest.raises(ValueError, match=message):
        NearDedupOptions(**{field: value})


def test_exact_options_policy_is_validated():
    with pytest.raises(ValueError, match="tuple"):
        ExactDedupOptions(survivor_policy=["longest_text"])
