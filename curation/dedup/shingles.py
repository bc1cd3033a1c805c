"""Word n-gram shingles of normalised text and their 64-bit and 32-bit hashes.

A shingle is ``ngram_size`` consecutive words of the normalised text, written as
the words joined by single spaces. A text with fewer words than ``ngram_size``
(but at least one) is one shingle made of all its words, so short texts still
compare (equal only to texts with the same words); an empty text has no
shingles.

The shingle hash (documented so signatures can be rebuilt with datasketch)::

    h = 0
    for word in shingle.split(" "):
        h = ((h ^ crc32(word.encode("utf-8"))) * FOLD_MULTIPLIER) mod 2**64
    shingle_hash64 = fmix64(h)
    shingle_hash32 = shingle_hash64 >> 32

``crc32`` is ``zlib.crc32`` and ``fmix64`` is MurmurHash3's 64-bit finaliser.
Why words then a fold, not a hash of the shingle's bytes: each word is hashed
once in C (``zlib.crc32``, ~10x faster than blake2b from Python) and the n-gram
fold is vectorised in numpy, instead of building and hashing every shingle
string. No seed here: the MinHash seed already draws the permutations.
MinHash signatures take the 32-bit hash (what datasketch's ``hashfunc`` returns),
and exact verification compares the same 32-bit hashes: the sets whose Jaccard the
signature estimates, at 4 bytes per shingle through near dedup's joins. A collision
only matters inside one compared pair: two documents with 1,000 distinct shingles
between them share a colliding hash about once in 8,600 pairs (1000**2 / 2**33),
and it moves their Jaccard by about 1/1,000. Texts of one shingle, where a
collision would decide equality, compare a sha256 of the text instead
(``curation.dedup.sketch.whole_text_key``).
"""

from __future__ import annotations

import zlib

import numpy as np

FOLD_MULTIPLIER = 0x9E3779B97F4A7C15  # odd (golden ratio * 2**64): a bijection mod 2**64
_MASK64 = (1 << 64) - 1
_FMIX64 = (33, 0xFF51AFD7ED558CCD, 33, 0xC4CEB9FE1A85EC53, 33)


def shingles(normalized: str, ngram_size: int) -> list[str]:
    """The shingle strings of a normalised text (the reference for the hashes)."""
    words = normalized.split(" ") if normalized else []
    if not words:
        return []
    span = min(ngram_size, len(words))
    return [" ".join(words[i : i + span]) for i in range(len(words) - span + 1)]


def _fmix64_int(h: int) -> int:
    s1, m1, s2, m2, s3 = _FMIX64
    h ^= h >> s1
    h = (h * m1) & _MASK64
    h ^= h >> s2
    h = (h * m2) & _MASK64
    return h ^ (h >> s3)


def shingle_hash32(shingle: str) -> int:
    """The 32-bit hash of one shingle string: pass as datasketch's ``hashfunc``."""
    h = 0
    for word in shingle.split(" "):
        word_hash = zlib.crc32(word.encode("utf-8", "surrogatepass"))
        h = ((h ^ word_hash) * FOLD_MULTIPLIER) & _MASK64
    return _fmix64_int(h) >> 32


def _fmix64(h: np.ndarray) -> np.ndarray:
    s1, m1, s2, m2, s3 = (np.uint64(c) for c in _FMIX64)
    h = h ^ (h >> s1)
    h = h * m1
    h = h ^ (h >> s2)
    h = h * m2
    return h ^ (h >> s3)


def _shingle_hashes64(normalized: str, ngram_size: int) -> np.ndarray:
    """The 64-bit hash of every shingle of ``normalized``, in order (uint64), vectorised."""
    if not normalized:
        return np.empty(0, dtype=np.uint64)
    words = normalized.encode("utf-8", "surrogatepass").split(b" ")
    word_hashes = np.fromiter(map(zlib.crc32, words), dtype=np.uint64, count=len(words))
    span = min(ngram_size, len(words))
    count = len(words) - span + 1
    h = np.zeros(count, dtype=np.uint64)
    multiplier = np.uint64(FOLD_MULTIPLIER)
    for offset in range(span):
        h ^= word_hashes[offset : offset + count]
        h *= multiplier  # wraps mod 2**64, as the reference does
    return _fmix64(h)


def shingle_hashes(normalized: str, ngram_size: int) -> np.ndarray:
    """``shingle_hash32`` of every shingle of ``normalized`` (the top 32 bits of its 64-bit
    fold), in order (uint32), vectorised."""
    return (_shingle_hashes64(normalized, ngram_size) >> np.uint64(32)).astype(np.uint32)
