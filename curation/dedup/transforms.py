"""Beam wrappers: ``ExactDedup`` and ``NearDedup``.

Both take a PCollection of record dicts (:data:`curation.schema.RECORD_SCHEMA`
keys, unique ``id``) and return the ``DoOutputsTuple`` of their last ParDo::

    out = records | NearDedup(NearDedupOptions())
    out.survivors            # records kept, cluster_id / cluster_size filled
    out[DUPLICATES_TAG]      # DUPLICATE_SCHEMA dicts, one per removed record
    out[KEPT_UNVERIFIED_TAG] # NearDedup only: ids of survivors left undecided
    survivors, duplicates, kept_unverified = out   # in that order (ExactDedup: the first two)

Every input record lands in exactly one of survivors and duplicates. A survivor
of a cluster of two or more gets ``cluster_id`` ``"exact:<survivor id>"`` /
``"near:<survivor id>"`` and ``cluster_size`` = the documents the cluster stands
for (near: the survivor and those removed against it); a record in
no cluster keeps its cluster_id (null unless set earlier) and cluster_size
(1 if absent). Only small per-record summaries (rank, sketch) meet per
cluster, and no cluster is gathered on one worker (see ``_JoinClusterSummaries``);
full records are shuffled once to be routed: by text for exact dedup, by id
for near dedup.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.pvalue import DoOutputsTuple, TaggedOutput

from curation.bundling import BundleBuffer
from curation.checks import expect_options
from curation.dedup.components import ComponentsNotConvergedError, large_star, small_star
from curation.dedup.minhash import band_keys
from curation.dedup.normalize import normalize_text
from curation.dedup.options import ExactDedupOptions, NearDedupOptions
from curation.dedup.sketch import (
    band_shard,
    candidate_pairs,
    matched_by_text_only,
    signature_array,
    similarity,
    sketch_normalized,
)
from curation.dedup.survivor import (
    EMPTY_SUMMARY,
    ClusterSummary,
    Decision,
    Member,
    add_member,
    apply_decision,
    check_members,
    decision_for,
    duplicate_row,
    merge_summaries,
    record_weight,
    removal_decision,
    survivor_decision,
    survivor_rank,
)
from curation.hashing import content_hash, seeded_hash64
from curation.schema import DUPLICATES_TAG

COUNTER_NAMESPACE = "curation.dedup"
# NearDedup's third output: the id of each record kept because the survivor rounds
# ended before deciding it (see NearDedupOptions.survivor_rounds).
KEPT_UNVERIFIED_TAG = "kept_unverified"


def _not_unique(record_id: str, count: int, what: str) -> ValueError:
    return ValueError(
        f"dedup needs unique record ids, but id {record_id!r} has {count} {what}: "
        "read with the reader's duplicate-id check (RejectReason.DUPLICATE_ID) first"
    )


def _only(values: Iterable[Any], record_id: str, what: str) -> Any:
    """The single value grouped under an id; ids must be unique for dedup to be sound."""
    values = list(values)
    if len(values) != 1:
        raise _not_unique(record_id, len(values), what)
    return values[0]


class _Route(beam.DoFn):
    """Sends a record with its decision on: survivor to main, duplicate to DUPLICATES_TAG."""

    def __init__(self) -> None:
        self._removed = {}

    def _route(self, record: dict, decision: Decision | None) -> Iterator[Any]:
        survivor = apply_decision(record, decision)
        if survivor is not None:
            yield survivor
            return
        if decision.kind not in self._removed:
            self._removed[decision.kind] = Metrics.counter(COUNTER_NAMESPACE, f"{decision.kind}_duplicate")
        self._removed[decision.kind].inc()
        yield TaggedOutput(DUPLICATES_TAG, duplicate_row(record, decision))


class _RouteByDecision(_Route):
    """(id, {the record, its decision if any, a mark if unverified}) -> the record, routed;
    an unverified record is kept and its id sent to KEPT_UNVERIFIED_TAG."""

    def __init__(self) -> None:
        super().__init__()
        self._kept_unverified = Metrics.counter(COUNTER_NAMESPACE, "near_kept_unverified")

    def process(self, element: tuple[str, dict[str, Iterable]]) -> Iterator[Any]:
        record_id, grouped = element
        record = _only(grouped["record"], record_id, "records")
        decisions = list(grouped["decision"])
        yield from self._route(record, decisions[0] if decisions else None)
        if any(True for _ in grouped["unverified"]):
            self._kept_unverified.inc()
            yield TaggedOutput(KEPT_UNVERIFIED_TAG, record_id)


class _RouteByExactCluster(_Route):
    """((text key, salt), {records, the cluster's summary if two or more}) -> the records, routed."""

    def process(self, element: tuple[tuple, dict[str, Iterable]]) -> Iterator[Any]:
        _, grouped = element
        summary = next(iter(grouped["summary"]), None)
        # Records of one id and text share a salt, so they meet here: a repeated id
        # would make both copies "the survivor". At most members_per_key ids are held.
        seen: set[str] = set()
        for record in grouped["item"]:
            if record["id"] in seen:
                raise _not_unique(record["id"], 2, "records with the same text")
            seen.add(record["id"])
            decision = None if summary is None else decision_for(record["id"], None, summary, "exact", _identical)
            yield from self._route(record, decision)


class _ApplyDecisions(beam.PTransform):
    """records + (id, Decision) + (id, None) per unverified -> DoOutputsTuple(survivors,
    duplicates, kept unverified ids)."""

    def __init__(self, decisions: beam.PCollection, unverified: beam.PCollection) -> None:
        super().__init__()
        self._decisions, self._unverified = decisions, unverified

    def expand(self, records: beam.PCollection) -> DoOutputsTuple:
        keyed = records | "KeyById" >> beam.Map(lambda record: (record["id"], record))
        return (
            {"record": keyed, "decision": self._decisions, "unverified": self._unverified}
            | "JoinDecisions" >> beam.CoGroupByKey()
            | "Route" >> beam.ParDo(_RouteByDecision()).with_outputs(
                DUPLICATES_TAG, KEPT_UNVERIFIED_TAG, main="survivors"
            )
        )


def _identical(_a: Any, _b: Any) -> float:
    return 1.0


class _SummarizeCluster(beam.CombineFn):
    """Members of one cluster -> its ClusterSummary (survivor, count, weight), mergeable."""

    def create_accumulator(self) -> ClusterSummary:
        return EMPTY_SUMMARY

    def add_input(self, summary: ClusterSummary, member: Member) -> ClusterSummary:
        return add_member(summary, member)

    def merge_accumulators(self, summaries: Iterable[ClusterSummary]) -> ClusterSummary:
        return merge_summaries(summaries)

    def extract_output(self, summary: ClusterSummary) -> ClusterSummary:
        return summary


class _SummarizeClusters(beam.PTransform):
    """(cluster key, Member) -> (cluster key, ClusterSummary) of every cluster of two or more.

    A combine, so most of the work runs before the shuffle and no cluster is
    gathered on one worker.
    """

    def expand(self, members: beam.PCollection) -> beam.PCollection:
        return (
            members
            | "Summarize" >> beam.CombinePerKey(_SummarizeCluster())
            | "TwoOrMore" >> beam.Filter(lambda kv: kv[1].count >= 2)
        )


def _salt(item_id: str, salts: int) -> int:
    return seeded_hash64(item_id, 0, "dedup-cluster-salt") % salts


class _JoinClusterSummaries(beam.PTransform):
    """(cluster key, item) -> ((cluster key, salt), {"item": items, "summary": [its summary]}).

    A cluster of more than ``members_per_key`` members (a boilerplate text copied
    a million times) is spread over several salts, its summary sent to each, so
    no worker receives more than about ``members_per_key`` of its items.
    """

    def __init__(self, summaries: beam.PCollection, members_per_key: int, id_of) -> None:
        super().__init__()
        self._summaries, self._members_per_key, self._id_of = summaries, members_per_key, id_of

    def expand(self, keyed: beam.PCollection) -> beam.PCollection:
        limit, id_of = self._members_per_key, self._id_of
        # Only clusters over the limit are listed: at most (documents / limit) entries.
        salts = beam.pvalue.AsDict(
            self._summaries
            | "SaltsOfLarge" >> beam.FlatMap(lambda kv: [(kv[0], -(-kv[1].count // limit))] if kv[1].count > limit else [])
        )
        salted_items = keyed | "SaltItems" >> beam.Map(
            lambda kv, salts: ((kv[0], _salt(id_of(kv[1]), salts.get(kv[0], 1))), kv[1]), salts
        )
        salted_summaries = self._summaries | "SummaryPerSalt" >> beam.FlatMap(
            lambda kv, salts: [((kv[0], salt), kv[1]) for salt in range(salts.get(kv[0], 1))], salts
        )
        return {"item": salted_items, "summary": salted_summaries} | "JoinSummary" >> beam.CoGroupByKey()


_UNMATCHED = "unmatched"
_ONE_SHINGLE = "one_shingle"


def _decide_equal_texts(element: tuple) -> Iterator[tuple[str, Decision]]:
    """((text key, salt), {members, their summary}) -> a near Decision (similarity 1.0) per member."""
    _, grouped = element
    for summary in grouped["summary"]:  # none for a text no other record has
        for member in grouped["item"]:
            yield member.id, decision_for(member.id, None, summary, "near", _identical)


def _check_near_members(element: tuple, similarity, threshold: float) -> Iterator[Any]:
    """((root, salt), {members, the cluster's summary}) -> (survivor id, Match) per member
    that matches the survivor, the unmatched as (root, Member) to _UNMATCHED."""
    (root, _), grouped = element
    for summary in grouped["summary"]:  # none for a member left alone: it is kept
        for member, match in check_members(grouped["item"], summary, similarity, threshold):
            if match is None:
                yield TaggedOutput(_UNMATCHED, (root, member))
            else:
                yield summary.survivor.id, match


def _removal(survivor_and_match: tuple) -> Iterator[tuple[str, Decision]]:
    survivor_id, match = survivor_and_match
    if match.member_id != survivor_id:
        yield match.member_id, removal_decision(survivor_id, match, "near")


def _survivor(survivor_and_size: tuple) -> Iterator[tuple[str, Decision]]:
    survivor_id, (matched, weight) = survivor_and_size
    decision = survivor_decision(survivor_id, matched, weight, "near")
    if decision is not None:
        yield survivor_id, decision


def _unverified(element: tuple) -> Iterator[tuple[str, None]]:
    """((root, salt), {members, the summary of their cluster if two or more}) -> (id, None) per member."""
    _, grouped = element
    if any(True for _ in grouped["summary"]):
        yield from ((member.id, None) for member in grouped["item"])


class _SurvivorVerifiedDecisions(beam.PTransform):
    """(root, Member) of each connected component -> (id, Decision), (id, None) per unverified.

    Each round, a cluster's summary names its survivor, and every member is
    checked against it (on several workers for a large cluster): a match is
    removed, the others go on to the next round as a cluster of their own. See
    ``survivor.survivor_verified_decisions``, the same in memory.
    """

    def __init__(self, options: NearDedupOptions) -> None:
        super().__init__()
        self._options = options

    def _join_summaries(self, clusters: beam.PCollection, label: str) -> beam.PCollection:
        summaries = clusters | f"Summaries{label}" >> _SummarizeClusters()
        return clusters | f"JoinMembers{label}" >> _JoinClusterSummaries(
            summaries, self._options.members_per_key, lambda member: member.id
        )

    def expand(self, clusters: beam.PCollection) -> tuple[beam.PCollection, beam.PCollection]:
        matches = []
        for round_ in range(self._options.survivor_rounds):
            checked = self._join_summaries(clusters, str(round_)) | f"Check{round_}" >> beam.FlatMap(
                _check_near_members, similarity, self._options.threshold
            ).with_outputs(_UNMATCHED, main="matches")
            matches.append(checked.matches)
            clusters = checked[_UNMATCHED]
        matches = matches | "AllMatches" >> beam.Flatten()
        survivors = (
            matches
            | "CountAndWeight" >> beam.MapTuple(lambda survivor_id, match: (survivor_id, (1, match.weight)))
            | "ClusterSizes" >> beam.CombinePerKey(beam.combiners.TupleCombineFn(sum, sum))
            | "SurvivorDecisions" >> beam.FlatMap(_survivor)
        )
        removals = matches | "RemovalDecisions" >> beam.FlatMap(_removal)
        # Clusters of two or more left after the last round: their members stay, unverified.
        unverified = self._join_summaries(clusters, "Left") | "Unverified" >> beam.FlatMap(_unverified)
        return (survivors, removals) | "Decisions" >> beam.Flatten(), unverified


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

        def member(record: dict) -> Member:
            return Member(record["id"], survivor_rank(record, options.survivor_policy), record_weight(record), None)

        keyed = records | "KeyByText" >> beam.Map(
            lambda record: (content_hash(normalize_text(record["text"], options.normalization)), record)
        )
        summaries = keyed | "Members" >> beam.MapTuple(lambda key, record: (key, member(record))) | _SummarizeClusters()
        # Records meet their text's summary directly: one shuffle of records, keyed by text.
        return (
            keyed
            | "JoinRecords" >> _JoinClusterSummaries(summaries, options.members_per_key, lambda record: record["id"])
            | "Route" >> beam.ParDo(_RouteByExactCluster()).with_outputs(DUPLICATES_TAG, main="survivors")
        )


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


class _BandEntriesByShard(BundleBuffer):
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

    A member is removed only if its similarity to the survivor it names reaches the
    threshold (``NearDedupOptions.survivor_rounds``). A text of one shingle (at most
    ``ngram_size`` words) is, above a threshold of 0.5, a near duplicate only of
    texts equal to it once normalised: those are clustered by that text alone,
    with no MinHash signature or band entries.

    Returns ``DoOutputsTuple``: ``.survivors``, ``[DUPLICATES_TAG]`` (kind "near",
    similarity to the survivor as checked: estimated or exact Jaccard per
    ``verification``, never below the threshold) and ``[KEPT_UNVERIFIED_TAG]`` (ids
    of survivors the rounds left undecided). Counters ``curation.dedup/``
    ``near_duplicate``, ``near_candidate_verified``, ``near_candidate_rejected``,
    ``near_kept_unverified``.
    """

    def __init__(self, options: NearDedupOptions = NearDedupOptions()) -> None:
        super().__init__()
        expect_options(self, options, NearDedupOptions)
        self._options = options

    def expand(self, records: beam.PCollection) -> DoOutputsTuple:
        options = self._options
        bands, rows = options.bands_and_rows

        def sketch_member(record: dict) -> Iterator[Any]:
            member = Member(record["id"], survivor_rank(record, options.survivor_policy), record_weight(record), None)
            normalized = normalize_text(record["text"], options.normalization)
            text_key = matched_by_text_only(normalized, options)
            if text_key is None:
                yield record["id"], member._replace(sketch=sketch_normalized(normalized, options))
            else:  # a one-shingle text: no signature, no band entries (a corpus of single words
                # would otherwise pay ~2 KB of sketch and band keys per record)
                yield TaggedOutput(_ONE_SHINGLE, (text_key, member))

        sketched = records | "Sketch" >> beam.FlatMap(sketch_member).with_outputs(_ONE_SHINGLE, main="members")
        members, one_shingle = sketched.members, sketched[_ONE_SHINGLE]
        one_shingle_decisions = (
            one_shingle
            | "JoinOneShingle" >> _JoinClusterSummaries(
                one_shingle | "SummarizeOneShingle" >> _SummarizeClusters(), options.members_per_key,
                lambda member: member.id,
            )
            | "DecideOneShingle" >> beam.FlatMap(_decide_equal_texts)
        )
        sketches = members | "SketchById" >> beam.MapTuple(lambda record_id, member: (record_id, member.sketch))
        # Buckets hold ids only: the sketches join the (far fewer) candidate pairs later.
        star_edges = (
            members
            | "BandEntries" >> beam.ParDo(_BandEntriesByShard(bands, rows, options.band_shards))
            | "GroupByShard" >> beam.GroupByKey()
            | "CandidatePairs" >> beam.FlatMap(lambda kv: candidate_pairs(kv[1], options.all_pairs_bucket_limit))
            | "DistinctCandidates" >> beam.Distinct()
            | "Verify" >> _VerifyCandidates(sketches, options.threshold)
            | "Components" >> _ConnectedComponents(options.max_component_rounds)
        )
        roots = (
            star_edges
            | "RootOfEachNode" >> beam.FlatMap(lambda e: ((e[1], e[0]), (e[0], e[0])))
            | "DistinctRoots" >> beam.Distinct()
        )
        members_by_root = (
            {"member": members, "root": roots}
            | "JoinRoots" >> beam.CoGroupByKey()
            | "KeyByRoot" >> beam.FlatMap(_member_by_root, options.max_component_rounds)
        )
        decisions, unverified = members_by_root | "SurvivorRounds" >> _SurvivorVerifiedDecisions(options)
        decisions = (decisions, one_shingle_decisions) | "AllDecisions" >> beam.Flatten()
        return records | "Apply" >> _ApplyDecisions(decisions, unverified)


__all__ = ["ExactDedup", "KEPT_UNVERIFIED_TAG", "NearDedup"]
