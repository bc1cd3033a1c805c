"""Beam wrappers: ``ExactDedup`` and ``NearDedup``.

Both take a PCollection of record dicts (:data:`curation.schema.RECORD_SCHEMA`
keys, unique ``id``) and return the ``DoOutputsTuple`` of their last ParDo::

    out = records | NearDedup(NearDedupOptions())
    out.survivors            # records kept, cluster_id / cluster_size filled
    out[DUPLICATES_TAG]      # DUPLICATE_SCHEMA dicts, one per removed record
    survivors, duplicates = out   # the same two, in that order

Every input record lands in exactly one of the two. A survivor of a cluster of
two or more gets ``cluster_id`` ``"exact:<survivor id>"`` / ``"near:<survivor
id>"`` and ``cluster_size`` = the documents the cluster stands for; a record in
no cluster keeps its cluster_id (null unless set earlier) and cluster_size
(1 if absent). Only small per-record summaries (rank, sketch) are grouped by
cluster; full records are shuffled once, by id, to apply the decisions.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.pvalue import DoOutputsTuple, TaggedOutput

from curation.checks import expect_options
from curation.dedup.components import ComponentsNotConvergedError, large_star, small_star
from curation.dedup.minhash import band_keys
from curation.dedup.normalize import normalize_text
from curation.dedup.options import ExactDedupOptions, NearDedupOptions
from curation.dedup.sketch import bucket_pairs, signature_array, similarity, sketch_text
from curation.dedup.survivor import (
    Member,
    apply_decision,
    duplicate_row,
    record_weight,
    resolve_cluster,
    survivor_rank,
)
from curation.hashing import content_hash
from curation.schema import DUPLICATES_TAG

COUNTER_NAMESPACE = "curation.dedup"


def _only(values: Iterable[Any], record_id: str, what: str) -> Any:
    """The single value grouped under an id; ids must be unique for dedup to be sound."""
    values = list(values)
    if len(values) != 1:
        raise ValueError(
            f"dedup needs unique record ids, but id {record_id!r} has {len(values)} {what}: "
            "read with the reader's duplicate-id check (RejectReason.DUPLICATE_ID) first"
        )
    return values[0]


class _RouteByDecision(beam.DoFn):
    """Joins each record with its decision: survivor to main, duplicate to DUPLICATES_TAG."""

    def __init__(self) -> None:
        self._removed = {}

    def process(self, element: tuple[str, dict[str, Iterable]]) -> Iterator[Any]:
        record_id, grouped = element
        record = _only(grouped["record"], record_id, "records")
        decisions = list(grouped["decision"])
        decision = decisions[0] if decisions else None
        survivor = apply_decision(record, decision)
        if survivor is not None:
            yield survivor
            return
        if decision.kind not in self._removed:
            self._removed[decision.kind] = Metrics.counter(COUNTER_NAMESPACE, f"{decision.kind}_duplicate")
        self._removed[decision.kind].inc()
        yield TaggedOutput(DUPLICATES_TAG, duplicate_row(record, decision))


class _ApplyDecisions(beam.PTransform):
    """records + (id, Decision) -> DoOutputsTuple(survivors, duplicates)."""

    def __init__(self, decisions: beam.PCollection) -> None:
        super().__init__()
        self._decisions = decisions

    def expand(self, records: beam.PCollection) -> DoOutputsTuple:
        keyed = records | "KeyById" >> beam.Map(lambda record: (record["id"], record))
        return (
            {"record": keyed, "decision": self._decisions}
            | "JoinDecisions" >> beam.CoGroupByKey()
            | "Route" >> beam.ParDo(_RouteByDecision()).with_outputs(DUPLICATES_TAG, main="survivors")
        )


def _identical(_a: Any, _b: Any) -> float:
    return 1.0


class ExactDedup(beam.PTransform):
    """Removes records whose normalised text equals another's; one survivor per text.

    Returns ``DoOutputsTuple``: ``.survivors`` and ``[DUPLICATES_TAG]`` (kind "exact",
    similarity 1.0). Counter ``curation.dedup/exact_duplicate``.
    """

    def __init__(self, options: ExactDedupOptions = ExactDedupOptions()) -> None:
        super().__init__()
        expect_options(self, options, ExactDedupOptions)
        self._options = options

    def expand(self, records: beam.PCollection) -> DoOutputsTuple:
        options = self._options

        def text_member(record: dict) -> tuple[str, Member]:
            key = content_hash(normalize_text(record["text"], options.normalization))
            rank = survivor_rank(record, options.survivor_policy)
            return key, Member(record["id"], rank, record_weight(record), None)

        decisions = (
            records
            | "KeyByText" >> beam.Map(text_member)
            | "GroupByText" >> beam.GroupByKey()
            | "Resolve" >> beam.FlatMap(lambda kv: resolve_cluster(kv[1], "exact", _identical))
        )
        return records | "Apply" >> _ApplyDecisions(decisions)


def _pairs_by_first_sketch(element: tuple[str, dict[str, Iterable]]) -> Iterator[tuple[str, tuple]]:
    """(id_a, {pairs (id_a, id_b), id_a's sketch}) -> (id_b, (id_a, sketch_a)) per pair."""
    id_a, grouped = element
    sketch_a = None
    for id_b in grouped["pair"]:
        if sketch_a is None:
            sketch_a = _only(grouped["sketch"], id_a, "sketches")
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
                sketch_b = _only(grouped["sketch"], id_b, "sketches")
            if similarity(sketch_a, sketch_b) >= self._threshold:
                self._verified.inc()
                yield id_a, id_b
            else:  # a banding false positive: counted, never merged
                self._rejected.inc()


class _VerifyCandidates(beam.PTransform):
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


class _ConnectedComponents(beam.PTransform):
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


def _member_by_root(element: tuple[str, dict[str, Iterable]], rounds: int) -> Iterator[tuple[str, Member]]:
    node, grouped = element
    roots = set(grouped["root"])
    if not roots:  # in no verified pair: a singleton, left alone
        return
    if len(roots) > 1:
        raise ComponentsNotConvergedError(
            f"NearDedup: clusters did not converge in {rounds} rounds (node {node!r} still "
            f"links to {sorted(roots)[:3]}); raise NearDedupOptions.max_component_rounds"
        )
    yield roots.pop(), _only(grouped["member"], node, "records")


class NearDedup(beam.PTransform):
    """Removes near-duplicates: MinHash LSH candidates, verified, clustered, one survivor each.

    Returns ``DoOutputsTuple``: ``.survivors`` and ``[DUPLICATES_TAG]`` (kind "near",
    similarity to the survivor: estimated or exact Jaccard per ``verification``;
    a chain member can be below the threshold). Counters ``curation.dedup/``
    ``near_duplicate``, ``near_candidate_verified``, ``near_candidate_rejected``.
    """

    def __init__(self, options: NearDedupOptions = NearDedupOptions()) -> None:
        super().__init__()
        expect_options(self, options, NearDedupOptions)
        self._options = options

    def expand(self, records: beam.PCollection) -> DoOutputsTuple:
        options = self._options
        bands, rows = options.bands_and_rows

        def sketch_member(record: dict) -> tuple[str, Member]:
            rank = survivor_rank(record, options.survivor_policy)
            sketch = sketch_text(record["text"], options)
            return record["id"], Member(record["id"], rank, record_weight(record), sketch)

        def band_entries(keyed: tuple[str, Member]) -> list[tuple[bytes, str]]:
            record_id, member = keyed
            return [(key, record_id) for key in band_keys(signature_array(member.sketch), bands, rows)]

        members = records | "Sketch" >> beam.Map(sketch_member)
        sketches = members | "SketchById" >> beam.MapTuple(lambda record_id, member: (record_id, member.sketch))
        # Buckets hold ids only: the sketches join the (far fewer) candidate pairs later.
        star_edges = (
            members
            | "BandKeys" >> beam.FlatMap(band_entries)
            | "GroupByBand" >> beam.GroupByKey()
            | "CandidatePairs" >> beam.FlatMap(lambda kv: bucket_pairs(kv[1], options.all_pairs_bucket_limit))
            | "DistinctCandidates" >> beam.Distinct()
            | "Verify" >> _VerifyCandidates(sketches, options.threshold)
            | "Components" >> _ConnectedComponents(options.max_component_rounds)
        )
        roots = (
            star_edges
            | "RootOfEachNode" >> beam.FlatMap(lambda e: ((e[1], e[0]), (e[0], e[0])))
            | "DistinctRoots" >> beam.Distinct()
        )
        decisions = (
            {"member": members, "root": roots}
            | "JoinRoots" >> beam.CoGroupByKey()
            | "KeyByRoot" >> beam.FlatMap(_member_by_root, options.max_component_rounds)
            | "GroupByCluster" >> beam.GroupByKey()
            | "Resolve" >> beam.FlatMap(lambda kv: resolve_cluster(kv[1], "near", similarity))
        )
        return records | "Apply" >> _ApplyDecisions(decisions)


__all__ = ["ExactDedup", "NearDedup"]
