"""MinHash signatures, LSH bands and Jaccard, checked against datasketch. (no Beam)"""

import random

import datasketch
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from curation.dedup.minhash import band_keys, exact_jaccard, lsh_bands, signature
from curation.dedup.normalize import normalize_text
from curation.dedup.options import NearDedupOptions
from curation.dedup.shingles import shingle_hash32, shingle_hashes, shingles


WORDS = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron".split()


def random_text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) + rng.choice(["", ",", "."]) for _ in range(words))


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


def test_lsh_bands_is_datasketchs_optimum_over_a_grid():
    from datasketch.lsh import _optimal_param

    assert lsh_bands(0.8, 128, 0.5, 0.5) == (9, 13)
    for threshold in (0.1, 0.3, 0.5, 0.65, 0.8, 0.9, 0.95):
        for num_perm in (16, 64, 128, 256):
            for weights in ((0.5, 0.5), (0.1, 0.9), (0.9, 0.1)):
                assert lsh_bands(threshold, num_perm, *weights) == _optimal_param(threshold, num_perm, *weights)


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
