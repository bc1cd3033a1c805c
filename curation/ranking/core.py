"""Exact order statistics over seeded hash keys, without gathering the keys.

Selection ("the q records of this stratum with the smallest seeded hash") and
shard assignment ("records of rank a..b go to shard j") both need the key at a
given rank within a group. Sorting a whole group on one worker would not scale,
so the key at rank r is found in two passes over the data:

1. a histogram of the keys' leading bits per group (a small summary, combined
   across workers) tells which bin holds rank r and at which offset;
2. only the keys falling in those few bins are gathered and sorted.

An order key is ``(hash64, tiebreak)``: the seeded 64-bit hash of a record's id,
then the id itself, so keys are unique and the order is total.

Ranks can be weighted: a record of weight ``w`` (its text's bytes, say) takes
``w`` consecutive positions, and the key "at" a position is the record that
covers it. With every weight 1 this is the plain rank. A record of weight 0
covers no position: it sits just before the next record that does.
"""

from __future__ import annotations

import bisect
import itertools
import math
from typing import Iterable, Mapping, Sequence

OrderKey = tuple[int, str]

_TARGET_BIN_KEYS = 512  # about this many keys land in one bin: the second pass sorts bins of this size
_MAX_BIN_BITS = 20


def bin_bits(group_size: int) -> int:
    """Histogram resolution for a group: enough bins that each holds ~512 keys."""
    if group_size <= _TARGET_BIN_KEYS:
        return 0
    return min(_MAX_BIN_BITS, math.ceil(math.log2(group_size / _TARGET_BIN_KEYS)))


def key_bin(key: OrderKey, bits: int) -> int:
    """The histogram bin of a key: the leading ``bits`` bits of its (signed) hash."""
    return (key[0] + 2**63) >> (64 - bits) if bits else 0


def locate_ranks(histogram: Mapping[int, int], ranks: Iterable[int]) -> dict[int, tuple[int, int]]:
    """Maps each rank (0-based, below the group's total weight) to ``(bin, offset within bin)``;
    ``histogram`` holds each bin's total weight."""
    bins = sorted(histogram)
    starts = []
    total = 0
    for b in bins:
        starts.append(total)
        total += histogram[b]
    located = {}
    for rank in ranks:
        if not 0 <= rank < total:
            raise ValueError(f"rank {rank} outside a group of {total}")
        i = bisect.bisect_right(starts, rank) - 1
        located[rank] = (bins[i], rank - starts[i])
    return located


def covering_records(
    weighted_keys: Iterable[tuple[OrderKey, int]], offsets: Iterable[int]
) -> dict[int, tuple[OrderKey, int, int]]:
    """The record covering each (weighted) offset of a bin, after sorting the bin's
    ``(key, weight)`` pairs by key: ``(key, offset where the record starts, weight)``."""
    ordered = sorted(weighted_keys)
    ends = list(itertools.accumulate(weight for _, weight in ordered))
    covering = {}
    for offset in offsets:
        # The first record whose end is past the offset covers it (weight-0 records never do).
        i = bisect.bisect_right(ends, offset)
        key, weight = ordered[i]
        covering[offset] = (key, ends[i] - weight, weight)
    return covering


def keys_at_offsets(weighted_keys: Iterable[tuple[OrderKey, int]], offsets: Iterable[int]) -> dict[int, OrderKey]:
    """The key covering each (weighted) offset of a bin (see :func:`covering_records`)."""
    return {offset: record[0] for offset, record in covering_records(weighted_keys, offsets).items()}


def key_after(key: OrderKey) -> OrderKey:
    """The smallest order key above ``key``: as a boundary it puts ``key`` itself below.
    (No string lies between ``s`` and ``s + NUL``.)"""
    return key[0], key[1] + "\x00"


def bucket_of(key: OrderKey, boundaries: Sequence[OrderKey | None]) -> int:
    """How many boundaries are at or below ``key``: the index of the rank range holding it.

    ``boundaries[i]`` is the key at the i-th target rank (None when the rank is
    beyond the group, i.e. past every key). With ranks ``[c1, c2, ...]`` a key of
    rank ``k`` gets the number of ``c_i <= k``.
    """
    finite = [b for b in boundaries if b is not None]
    return bisect.bisect_right(finite, key)
