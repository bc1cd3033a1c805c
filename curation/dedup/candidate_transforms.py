"""Beam steps that find near-duplicate pairs: LSH band entries, candidate pairs verified
against their sketches, and the connected components of the verified pairs."""

from __future__ import annotations

from typing import Iterable, Iterator

import apache_beam as beam
from apache_beam.metrics import Metrics

from curation.bundling import BundleBuffer
from curation.dedup.cluster_transforms import COUNTER_NAMESPACE, only_value
from curation.dedup.components import ComponentsNotConvergedError, large_star, small_star
from curation.dedup.minhash import band_keys
from curation.dedup.sketch import band_shard, signature_array, similarity
from curation.dedup.survivor import Member


def _pairs_by_first_sketch(element: tuple[str, dict[str, Iterable]]) -> Iterator[tuple[str, tuple]]:
    """(id_a, {pairs (id_a, id_b), id_a's sketch}) -> (id_b, (id_a, sketch_a)) per pair."""
    id_a, grouped = element
    sketch_a = None
    for id_b in grouped["pair"]:
        if sketch_a is None:
            sketch_a = only_value(grouped["sketch"], id_a, "sketches")
        yield id_b, (id_a, sketch_a)


class _VerifyPairs(beam.DoFn):
    """(id_b, {(id_a, sketch_a) per candidate pair, id_b's sketch}) -> verified edges (id_a, id_b)."""

    def __init__(self, threshold: float) -> None:
        self._threshold = threshold
        self._verified = Metrics.counter(COUNTER_NAMESPACE, "near_candidate_verified")
        self._rejected = Metrics.counter(COUNTER_NAMESPACE, "near_candidate_rejected")

    def process(self, element: tuple[str, dict[str, Iterable]]) -> Iterator[tuple[str, str]]:
        id_b, grouped = element
        sketch_b = None
        for id_a, sketch_a in grouped["first"]:
            if sketch_b is None:
                sketch_b = only_value(grouped["sketch"], id_b, "sketches")
            if similarity(sketch_a, sketch_b) >= self._threshold:
                self._verified.inc()
                yield id_a, id_b
            else:  # a banding false positive: counted, never merged
                self._rejected.inc()


class VerifyCandidates(beam.PTransform):
    """Distinct candidate pairs -> the pairs whose similarity reaches the threshold.

    Each pair fetches its two sketches by id in two joins, so a sketch is shuffled
    about twice per document instead of once per LSH band.
    """

    def __init__(self, sketches: beam.PCollection, threshold: float) -> None:
        super().__init__()
        self._sketches = sketches
        self._threshold = threshold

    def expand(self, pairs: beam.PCollection) -> beam.PCollection:
        with_first = (
            {"pair": pairs, "sketch": self._sketches}
            | "JoinFirstSketch" >> beam.CoGroupByKey()
            | "ByLargerId" >> beam.FlatMap(_pairs_by_first_sketch)
        )
        return (
            {"first": with_first, "sketch": self._sketches}
            | "JoinSecondSketch" >> beam.CoGroupByKey()
            | "Compare" >> beam.ParDo(_VerifyPairs(self._threshold))
        )


class BandEntriesByShard(BundleBuffer):
    """(id, Member) -> (shard, [(band key, id), ...]): a bundle's LSH band entries, per shard.

    One element per band per document (22 at the defaults) would be the
    largest shuffle of the job; a bundle sends at most one list per shard.
    """

    def __init__(self, bands: int, rows: int, shards: int, max_entries: int = 200_000) -> None:
        self._bands, self._rows, self._shards, self._max_entries = bands, rows, shards, max_entries
        self.empty()

    def empty(self) -> None:
        self._by_shard: dict[int, list[tuple[bytes, str]]] = {}
        self._entries = 0

    def add(self, keyed: tuple[str, Member]) -> bool:
        record_id, member = keyed
        for key in band_keys(signature_array(member.sketch), self._bands, self._rows):
            self._by_shard.setdefault(band_shard(key, self._shards), []).append((key, record_id))
        self._entries += self._bands
        return self._entries >= self._max_entries

    def drain(self) -> Iterator[tuple[int, list[tuple[bytes, str]]]]:
        by_shard = self._by_shard
        self.empty()
        return iter(by_shard.items())


class ConnectedComponents(beam.PTransform):
    """Edges -> one star per component, centred on its smallest id (see components.py).

    Unrolled: ``rounds`` x (Large-Star, Small-Star), each a GroupByKey by node.
    Convergence is checked downstream, where each node must find one root.
    """

    def __init__(self, rounds: int) -> None:
        super().__init__()
        self._rounds = rounds

    def expand(self, edges: beam.PCollection) -> beam.PCollection:
        for round_ in range(self._rounds):
            edges = (
                edges
                | f"BothDirections{round_}" >> beam.FlatMap(lambda e: (e, (e[1], e[0])))
                | f"GroupNeighbours{round_}" >> beam.GroupByKey()
                | f"LargeStar{round_}" >> beam.FlatMapTuple(large_star)
                | f"ByLargerNode{round_}" >> beam.Map(lambda e: (e[1], e[0]))
                | f"GroupSmallerNeighbours{round_}" >> beam.GroupByKey()
                | f"SmallStar{round_}" >> beam.FlatMapTuple(small_star)
            )
        return edges


def member_by_root(element: tuple[str, dict[str, Iterable]], rounds: int) -> Iterator[tuple[str, Member]]:
    node, grouped = element
    roots = set(grouped["root"])
    if not roots:  # in no verified pair: a singleton, left alone
        return
    if len(roots) > 1:
        raise ComponentsNotConvergedError(
            f"NearDedup: clusters did not converge in {rounds} rounds (node {node!r} still "
            f"links to {sorted(roots)[:3]}); raise NearDedupOptions.max_component_rounds"
        )
    yield roots.pop(), only_value(grouped["member"], node, "records")
