"""Per-document sketches and the candidate pairs of one LSH bucket."""

from __future__ import annotations

import itertools
from typing import Iterable, Iterator, NamedTuple

import numpy as np

from curation.dedup.minhash import estimated_jaccard, exact_jaccard, signature
from curation.dedup.normalize import normalize_text
from curation.dedup.options import NearDedupOptions
from curation.dedup.shingles import shingle_hashes


class DocumentSketch(NamedTuple):
    """What near dedup keeps of a document. Bytes, so it shuffles compactly."""

    signature: bytes  # uint32 MinHash signature
    shingle_set: bytes | None  # sorted unique uint32 shingle hashes; only to verify exactly


def sketch_text(text: str, options: NearDedupOptions) -> DocumentSketch:
    hashes = shingle_hashes(normalize_text(text, options.normalization), options.ngram_size)
    signature_ = signature(hashes, options.num_perm, options.seed)
    shingle_set = np.unique(hashes).tobytes() if options.verification == "shingles" else None
    return DocumentSketch(signature_.tobytes(), shingle_set)


def signature_array(sketch: DocumentSketch) -> np.ndarray:
    return np.frombuffer(sketch.signature, dtype=np.uint32)


def similarity(a: DocumentSketch, b: DocumentSketch) -> float:
    """Exact Jaccard when both carry shingle sets, else the signature estimate."""
    if a.shingle_set is not None and b.shingle_set is not None:
        return exact_jaccard(
            np.frombuffer(a.shingle_set, dtype=np.uint32), np.frombuffer(b.shingle_set, dtype=np.uint32)
        )
    return estimated_jaccard(signature_array(a), signature_array(b))


def bucket_pairs(member_ids: Iterable[str], all_pairs_limit: int) -> Iterator[tuple[str, str]]:
    """(smaller id, larger id) for the pairs of one LSH bucket worth verifying.

    Up to ``all_pairs_limit`` members: every pair. Beyond (a hot bucket, e.g.
    boilerplate): each member with the bucket's smallest id only, in two passes
    over ``member_ids`` so the bucket is never held in memory. Both rules depend
    only on the bucket's membership, not on the order it arrives in.
    """
    head = list(itertools.islice(member_ids, all_pairs_limit + 1))
    if len(head) <= all_pairs_limit:
        yield from itertools.combinations(sorted(head), 2)
        return
    hub_id = min(member_ids)
    for member_id in member_ids:
        if member_id != hub_id:
            yield hub_id, member_id
