"""``RankBoundaries``: exact keys at given ranks per group, computed distributedly."""

from __future__ import annotations

from typing import Any, Callable, Hashable

import apache_beam as beam
from apache_beam.pvalue import AsDict, AsSingleton

from curation.lean_transforms import combine_per_key
from curation.ranking import core

# The targets side input: {group: (group_size, [rank, ...])}, ranks ascending
# (weighted: positions below the group's total weight, see curation.ranking.core).
Targets = dict[Hashable, tuple[int, list[int]]]


def _bits_for(group, targets: Targets) -> int:
    return core.bin_bits(targets[group][0]) if group in targets else 0


def _located(histogram: dict, targets: Targets) -> dict:
    """{(group, bin): [(rank, offset), ...]} for every target rank inside its group.
    ``histogram``: {(group, bin): (keys, weight)}."""
    weights: dict = {}
    counts: dict = {}
    for (group, bin_), (count, weight) in histogram.items():
        weights.setdefault(group, {})[bin_] = weight
        counts[group] = counts.get(group, 0) + count
    located: dict = {}
    for group, (size, ranks) in targets.items():
        if counts.get(group, 0) != size:
            raise RuntimeError(f"group {group!r}: expected {size} keys, histogram holds {counts.get(group, 0)}")
        total = sum(weights.get(group, {}).values())
        inside = [r for r in ranks if r < total]
        for rank, (bin_, offset) in core.locate_ranks(weights.get(group, {}), inside).items():
            located.setdefault((group, bin_), []).append((rank, offset))
    return located


def _in_target_bin(element, located, targets: Targets):
    group, key, weight = element
    group_bin = (group, core.key_bin(key, _bits_for(group, targets)))
    if group_bin in located:
        yield group_bin, (key, weight)


def _keys_at_ranks(element, located, extents: bool):
    (group, bin_), weighted_keys = element
    wanted = located[(group, bin_)]
    by_offset = core.covering_records(weighted_keys, [offset for _, offset in wanted])
    for rank, offset in wanted:
        key, start, weight = by_offset[offset]
        # The bin starts at rank - offset, so the record at rank - offset + start.
        yield (group, rank), ((key, rank - offset + start, weight) if extents else key)


def _assemble(found: dict, targets: Targets) -> dict:
    return {group: [found.get((group, r)) for r in ranks] for group, (_, ranks) in targets.items()}


_NOTHING_YET = object()


class _DerivedOnce:
    """``derive(side)`` worked out once per side-input object, not once per element: the
    runner hands a step the same cached object for every element of a window."""

    def __init__(self, derive: Callable[[Any], Any] | None):
        self._derive, self._of, self._value = derive, _NOTHING_YET, None

    def __call__(self, side: Any) -> Any:
        if self._derive is None:
            return side
        if side is not self._of:
            self._of, self._value = side, self._derive(side)
        return self._value


class RankBoundaries(beam.PTransform):
    """For each group, the order key at each target rank (``None`` past the group's end).

    Input: ``(group, order_key)`` pairs with unique order keys (see
    :mod:`curation.ranking.core`), or with ``weighted``, ``(group, order_key,
    weight)`` triples, the ranks then being weighted positions (the key returned
    is the one covering the position). ``targets``: a single-element PCollection
    ``{group: (group_size, [ranks])}``; sizes (in keys) must match the input (checked).
    Output: a single-element PCollection ``{group: [key_or_None per rank]}``; with
    ``extents`` (weighted), ``(key, position where its record starts, its weight)``
    in place of each key, so a caller knows how much of the group lies below it.
    ``keyed_by``: a function giving each input element's pair (or triple), so the
    input can be whole records (no step of its own to slim them first).
    ``targets_of``: the targets as a function of ``targets``' element (a plan, say),
    and ``then``: a function of that element and the output, giving the output in
    its place; both spare a step of their own.

    Only a histogram of leading hash bits and the keys of the bins that hold a
    target rank ever meet on one worker; never a whole group.
    """

    def __init__(self, targets: beam.PCollection, weighted: bool = False, extents: bool = False,
                 keyed_by: Callable[[Any], tuple] | None = None, targets_of: Callable[[Any], Targets] | None = None,
                 then: Callable[[Any, dict], Any] | None = None):
        super().__init__()
        self._targets = targets
        self._weighted = weighted
        self._extents = extents
        self._keyed_by = keyed_by
        self._targets_of = targets_of
        self._then = then

    def expand(self, elements: beam.PCollection) -> beam.PCollection:
        targets = AsSingleton(self._targets)
        # Locals: the steps' functions must not carry self.
        keyed_by, weighted, targets_of = self._keyed_by, self._weighted, _DerivedOnce(self._targets_of)
        then = self._then or (lambda _, output: output)

        def triple(element) -> tuple:
            keyed = keyed_by(element) if keyed_by else element
            return keyed if weighted else (keyed[0], keyed[1], 1)

        def binned(element, side):
            group, key, weight = triple(element)
            return (group, core.key_bin(key, _bits_for(group, targets_of(side)))), (1, weight)

        # Per-key results reach the single-element steps as dict side inputs
        # (AsDict), not through a global ToDict combine: far fewer transforms.
        histogram = combine_per_key(
            elements | "BinKeys" >> beam.Map(binned, targets), "CountPerBin", beam.combiners.TupleCombineFn(sum, sum)
        )
        located = self._targets | "LocateRanks" >> beam.Map(lambda t, h: _located(h, targets_of(t)), AsDict(histogram))
        found = (
            elements
            | "KeepTargetBins" >> beam.FlatMap(lambda e, located, side: _in_target_bin(triple(e), located, targets_of(side)),
                                               AsSingleton(located), targets)
            | "GroupTargetBins" >> beam.GroupByKey()
            | "KeysAtRanks" >> beam.FlatMap(_keys_at_ranks, AsSingleton(located), self._extents)
        )
        return self._targets | "Assemble" >> beam.Map(lambda t, f: then(t, _assemble(f, targets_of(t))), AsDict(found))
