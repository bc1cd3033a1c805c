"""MinHash signatures, LSH banding and Jaccard similarity, vectorised with numpy.

Signatures equal ``datasketch.MinHash(num_perm, seed, hashfunc=shingle_hash32)``
after ``update_batch(shingles)`` (datasketch >= 2.0, default scheme "affine32"):
the permutation parameters are drawn exactly as datasketch draws them from
``numpy.random.RandomState(seed)``, each input hash is pre-mixed with the 32-bit
MurmurHash3 finaliser and permuted as ``a * h + b mod 2**32``. Load them with
``datasketch.LeanMinHash(seed=seed, hashvalues=sig, scheme="affine32")``.
The speed comes from hashing words once (see :mod:`.shingles`) and applying all
permutations to all shingles of a document as one uint32 matrix operation.
"""

from __future__ import annotations

import functools
import struct

import numpy as np

SCHEME = "affine32"  # datasketch's scheme name for these signatures
EMPTY_VALUE = np.uint32(0xFFFFFFFF)  # a signature slot no shingle has lowered
_FMIX32 = tuple(np.uint32(c) for c in (16, 0x85EBCA6B, 13, 0xC2B2AE35, 16))


@functools.lru_cache(maxsize=16)
def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """datasketch's affine32 parameters (a odd, b), each a uint32 array of num_perm."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    a.flags.writeable = b.flags.writeable = False  # shared by the cache
    return a, b


def _fmix32(h: np.ndarray) -> np.ndarray:
    s1, m1, s2, m2, s3 = _FMIX32
    h = h ^ (h >> s1)
    h = h * m1
    h = h ^ (h >> s2)
    h = h * m2
    return h ^ (h >> s3)


def signature(shingle_hashes: np.ndarray, num_perm: int, seed: int) -> np.ndarray:
    """The MinHash signature (uint32, num_perm) of one document's shingle hashes.

    No shingles (empty text) gives all ``EMPTY_VALUE``, as an untouched datasketch
    MinHash has: two empty documents therefore estimate as Jaccard 1.0.
    """
    a, b = permutations(num_perm, seed)
    if shingle_hashes.size == 0:
        return np.full(num_perm, EMPTY_VALUE, dtype=np.uint32)
    mixed = _fmix32(shingle_hashes.astype(np.uint32, copy=False))
    permuted = np.multiply.outer(mixed, a)  # (shingles, num_perm); wraps mod 2**32
    permuted += b
    return permuted.min(axis=0)


def estimated_jaccard(signature_a: np.ndarray, signature_b: np.ndarray) -> float:
    """The fraction of equal slots: datasketch's ``MinHash.jaccard``."""
    return float(np.count_nonzero(signature_a == signature_b)) / len(signature_a)


def exact_jaccard(shingle_set_a: np.ndarray, shingle_set_b: np.ndarray) -> float:
    """Jaccard of two sorted, unique shingle-hash arrays; two empty sets count as 1.0.

    (1.0 for empty sets matches the signature estimate, so both verification
    modes agree that texts with no words are duplicates of each other.)
    The smaller set is looked up in the larger by binary search: no merge sort
    of both, ~12x faster than ``np.intersect1d`` on 850-shingle documents.
    """
    small, large = sorted((shingle_set_a, shingle_set_b), key=len)
    if len(large) == 0:
        return 1.0
    positions = np.searchsorted(large, small).clip(max=len(large) - 1)
    shared = int(np.count_nonzero(large[positions] == small))
    return shared / (len(small) + len(large) - shared)


@functools.lru_cache(maxsize=64)
def lsh_bands(
    threshold: float, num_perm: int, false_positive_weight: float, false_negative_weight: float
) -> tuple[int, int]:
    """(bands, rows) minimising datasketch's weighted false positive + negative areas.

    The same search as datasketch's ``MinHashLSH(threshold, num_perm, weights=(fp, fn))``
    (every b * r <= num_perm, in its order, the first strict minimum), so an index
    built with it bands identically (a test compares the two over a grid). The
    areas are integrals of polynomials of degree b * r <= num_perm, which
    Gauss-Legendre with num_perm / 2 + 1 nodes or more integrates exactly; it
    spares the job the 0.35 s scipy import datasketch's ``quad`` needs.
    """
    nodes, weights = np.polynomial.legendre.leggauss(num_perm // 2 + 2)

    def area(lo: float, hi: float, b: int, r: int, collides: bool) -> float:
        s = (hi - lo) / 2 * nodes + (hi + lo) / 2
        missed = (1 - s ** float(r)) ** float(b)  # P(no band collides) at similarity s
        return (hi - lo) / 2 * float(np.dot(weights, 1 - missed if collides else missed))

    best, optimum = float("inf"), (0, 0)
    for b in range(1, num_perm + 1):
        for r in range(1, num_perm // b + 1):
            false_positive = area(0.0, threshold, b, r, collides=True)
            false_negative = area(threshold, 1.0, b, r, collides=False)
            error = false_positive * false_positive_weight + false_negative * false_negative_weight
            if error < best:
                best, optimum = error, (b, r)
    return optimum


def band_keys(signature_: np.ndarray, bands: int, rows: int) -> list[bytes]:
    """One key per band: the band index then that band's slice of the signature.

    Two documents share a key exactly when datasketch's MinHashLSH with the same
    (bands, rows) would put them in the same bucket of that band.
    """
    return [
        struct.pack(">H", band) + signature_[band * rows : (band + 1) * rows].tobytes()
        for band in range(bands)
    ]
