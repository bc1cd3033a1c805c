"""Per-document sketches and the candidate pairs of one LSH bucket."""

from __future__ import annotations

import dataclasses
import itertools
import zlib
from typing import Iterable, Iterator, NamedTuple

import numpy as np

from curation.dedup.minhash import estimated_jaccard, exact_jaccard, signature
from curation.dedup.normalize import normalize_text
from curation.dedup.options import NearDedupOptions
from curation.dedup.shingles import shingle_hashes
from curation.hashing import content_hash


class DocumentSketch(NamedTuple):
    """What near dedup keeps of a document. Bytes, so it shuffles compactly."""

    signature: bytes  # uint32 MinHash signature
    shingle_set: bytes | None  # sorted unique uint32 shingle hashes (the signature's); only to verify exactly
    # sha256 of the normalised text when that text is its only shingle (or it has none):
    # such texts are equal or share nothing, and one 32-bit hash collision must not say equal.
    whole_text: bytes | None = None


def exact_text_jaccard(a: str, b: str, options: NearDedupOptions) -> float:
    """Exact Jaccard of two texts' shingles, as ``verification="shingles"`` computes it
    (for measuring a run; the pipeline compares sketches)."""
    return similarity(*(sketch_text(t, dataclasses.replace(options, verification="shingles")) for t in (a, b)))


def whole_text_key(normalized: str, ngram_size: int) -> bytes | None:
    """sha256 of a normalised text that is at most one shingle (ngram_size words or fewer), else None."""
    if normalized and normalized.count(" ") >= ngram_size:
        return None
    return bytes.fromhex(content_hash(normalized))


def matched_by_text_only(normalized: str, options: NearDedupOptions) -> bytes | None:
    """The whole-text key when a text's near duplicates are exactly the texts equal to it, else None.

    A text of one shingle (or none) has Jaccard 1 with texts of that same shingle and
    at most 1/2 with any other, so above a threshold of 1/2 its near duplicates are
    found by this key alone, without MinHash and LSH.
    """
    return whole_text_key(normalized, options.ngram_size) if options.threshold > 0.5 else None


def sketch_text(text: str, options: NearDedupOptions) -> DocumentSketch:
    return sketch_normalized(normalize_text(text, options.normalization), options)


def sketch_normalized(normalized: str, options: NearDedupOptions) -> DocumentSketch:
    hashes32 = shingle_hashes(normalized, options.ngram_size)
    signature_ = signature(hashes32, options.num_perm, options.seed)
    shingle_set = np.unique(hashes32).tobytes() if options.verification == "shingles" else None
    return DocumentSketch(signature_.tobytes(), shingle_set, whole_text_key(normalized, options.ngram_size))


def signature_array(sketch: DocumentSketch) -> np.ndarray:
    return np.frombuffer(sketch.signature, dtype=np.uint32)


def similarity(a: DocumentSketch, b: DocumentSketch) -> float:
    """The Jaccard similarity verification uses.

    Two texts of at most one shingle: 1.0 if their normalised texts are equal, else
    0.0 (exact, whatever the verification). Otherwise exact Jaccard of the 32-bit
    shingle hashes when both carry them, else the signature estimate (for a
    one-shingle text against a longer one the estimate is at most about
    1 / the longer one's shingles, so below any threshold over 0.5).
    """
    if a.whole_text is not None and b.whole_text is not None:
        return 1.0 if a.whole_text == b.whole_text else 0.0
    if a.shingle_set is not None and b.shingle_set is not None:
        return exact_jaccard(
            np.frombuffer(a.shingle_set, dtype=np.uint32), np.frombuffer(b.shingle_set, dtype=np.uint32)
        )
    return estimated_jaccard(signature_array(a), signature_array(b))


def band_shard(band_key: bytes, shards: int) -> int:
    """The shard whose worker gathers this LSH bucket: a stable hash (crc32) of the key."""
    return zlib.crc32(band_key) % shards


def candidate_pairs(
    batches: Iterable[Iterable[tuple[bytes, str]]], all_pairs_limit: int
) -> Iterator[tuple[str, str]]:
    """(smaller id, larger id) for the pairs worth verifying, over every bucket in ``batches``.

    ``batches`` holds lists of (band key, id) entries in any order and may be
    iterated twice (Beam's grouped values can). A bucket of up to ``all_pairs_limit`` members
    gives every pair. A larger (hot) bucket, e.g. boilerplate, gives each member
    with the bucket's smallest id only: the first pass keeps only that id for it,
    the second emits the pairs, so a hot bucket costs O(1) memory, not O(members).
    Both rules depend only on each bucket's membership, not on the order of entries.
    """
    small: dict[bytes, list[str]] = {}
    hubs: dict[bytes, str] = {}  # hot bucket -> its smallest id
    for key, member_id in itertools.chain.from_iterable(batches):
        hub = hubs.get(key)
        if hub is not None:
            if member_id < hub:
                hubs[key] = member_id
            continue
        members = small.setdefault(key, [])
        members.append(member_id)
        if len(members) > all_pairs_limit:
            hubs[key] = min(members)
            del small[key]
    for members in small.values():
        if len(members) > 1:
            yield from itertools.combinations(sorted(members), 2)
    if hubs:
        for key, member_id in itertools.chain.from_iterable(batches):
            hub = hubs.get(key)
            if hub is not None and member_id != hub:
                yield hub, member_id
