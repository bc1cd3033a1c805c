"""Beam steps that decide clusters: per-cluster summaries, the salted join of members to
their summary, the survivor rounds of near dedup, and the routing of each record by its decision.

Only small per-record summaries (rank, sketch) meet per cluster, and no cluster is
gathered on one worker (see ``JoinClusterSummaries``). The decisions themselves are
the pure functions of :mod:`curation.dedup.survivor`.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, Sequence

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.pvalue import DoOutputsTuple, TaggedOutput

from curation.dedup.options import NearDedupOptions
from curation.dedup.sketch import similarity
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
    removal_decision,
    survivor_decision,
    survivor_verified_decisions,
)
from curation.hashing import seeded_hash64
from curation.lean_transforms import by_type, combine_per_key, group_together
from curation.packed import unpack
from curation.progress import StageProgress
from curation.schema import Fate

COUNTER_NAMESPACE = "curation.dedup"
# NearDedup's third output: the id of each record kept because the survivor rounds
# ended before deciding it (see NearDedupOptions.survivor_rounds).
KEPT_UNVERIFIED_TAG = "kept_unverified"
# What JoinClusterSummaries groups in the survivor rounds: a cluster's Members and, for two or
# more, its summary (exact dedup's items are packed records: see RouteByExactCluster).
CLUSTER_KINDS = {"item": Member, "summary": ClusterSummary}


def not_unique(record_id: str, count: int, what: str) -> ValueError:
    return ValueError(
        f"dedup needs unique record ids, but id {record_id!r} has {count} {what}: "
        "read with the reader's duplicate-id check (RejectReason.DUPLICATE_ID) first"
    )


def only_value(values: Iterable[Any], record_id: str, what: str) -> Any:
    """The single value grouped under an id; ids must be unique for dedup to be sound."""
    values = list(values)
    if len(values) != 1:
        raise not_unique(record_id, len(values), what)
    return values[0]


class _Route(beam.DoFn):
    """Sends a record with its decision on: survivor to main, duplicate to Fate.DUPLICATE.tag."""

    stage = ""  # what its progress lines are called

    def __init__(self) -> None:
        self._removed = {}

    def setup(self) -> None:
        self._progress = StageProgress(self.stage)

    def _route(self, record: dict, decision: Decision | None) -> Iterator[Any]:
        self._progress.add(len(record["text"]))
        survivor = apply_decision(record, decision)
        if survivor is not None:
            yield survivor
            return
        if decision.kind not in self._removed:
            self._removed[decision.kind] = Metrics.counter(COUNTER_NAMESPACE, f"{decision.kind}_duplicate")
        self._removed[decision.kind].inc()
        yield TaggedOutput(Fate.DUPLICATE.tag, duplicate_row(record, decision))


class _RouteByDecision(_Route):
    """(id, {the record, its decision if any, a mark if unverified}) -> the record, routed;
    an unverified record is kept and its id sent to KEPT_UNVERIFIED_TAG."""

    stage = "near dedup"

    def __init__(self) -> None:
        super().__init__()
        self._kept_unverified = Metrics.counter(COUNTER_NAMESPACE, "near_kept_unverified")

    def process(self, element: tuple[str, Iterable[Any]]) -> Iterator[Any]:
        record_id, values = element
        grouped = by_type(values, {"record": bytes, "decision": Decision, "unverified": type(None)})
        record = unpack(only_value(grouped["record"], record_id, "records"))
        decisions = grouped["decision"]
        yield from self._route(record, decisions[0] if decisions else None)
        if grouped["unverified"]:
            self._kept_unverified.inc()
            yield TaggedOutput(KEPT_UNVERIFIED_TAG, record_id)


class RouteByExactCluster(_Route):
    """((text key, salt), {packed records, the cluster's summary if two or more}) -> the records, routed."""

    stage = "exact dedup"

    def process(self, element: tuple[tuple, Iterable[Any]]) -> Iterator[Any]:
        _, values = element
        grouped = by_type(values, {"item": bytes, "summary": ClusterSummary})
        summary = next(iter(grouped["summary"]), None)
        # Records of one id and text share a salt, so they meet here: a repeated id
        # would make both copies "the survivor". At most members_per_key ids are held.
        seen: set[str] = set()
        for record in map(unpack, grouped["item"]):
            if record["id"] in seen:
                raise not_unique(record["id"], 2, "records with the same text")
            seen.add(record["id"])
            decision = None if summary is None else decision_for(record["id"], None, summary, "exact", _identical)
            yield from self._route(record, decision)


class ApplyDecisions(beam.PTransform):
    """(id, packed record) + PCollections of (id, Decision) + (id, None) per unverified ->
    DoOutputsTuple(survivors, duplicates, kept unverified ids)."""

    def __init__(self, decisions: Sequence[beam.PCollection], unverified: beam.PCollection) -> None:
        super().__init__()
        self._decisions, self._unverified = tuple(decisions), unverified

    def expand(self, keyed_records: beam.PCollection) -> DoOutputsTuple:
        joined = group_together([keyed_records, *self._decisions, self._unverified], "JoinDecisions")
        return joined | "Route" >> beam.ParDo(_RouteByDecision()).with_outputs(
            Fate.DUPLICATE.tag, KEPT_UNVERIFIED_TAG, main=Fate.OUTPUT.tag
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


def _salt(item_id: str, salts: int) -> int:
    return seeded_hash64(item_id, 0, "dedup-cluster-salt") % salts


def _salts(summary: ClusterSummary, limit: int) -> int:
    """How many keys a cluster's items are spread over: one per ``limit`` of them."""
    return -(-summary.count // limit) if summary.count > limit else 1


class JoinClusterSummaries(beam.PTransform):
    """(cluster key, item) -> ((cluster key, salt), [item ..., the cluster's summary]) for
    every cluster; split with ``by_type(values, CLUSTER_KINDS)``. Only a cluster of two or
    more has a summary (its survivor, count and weight, from each item's Member).

    The summaries are a combine, so most of that work runs before the shuffle. A
    cluster of more than ``members_per_key`` members (a boilerplate text copied a
    million times) is spread over several salts, its summary sent to each, so no
    worker receives more than about ``members_per_key`` of its items.

    Args:
      members_per_key: the most items of one cluster a worker receives (about).
      id_of: an item's id (salts are drawn from it).
      member_of: an item's Member (None: the items are Members).
      carry: what of an item crosses the join (None: the item itself; ExactDedup packs its records).
    """

    def __init__(self, members_per_key: int, id_of: Callable[[Any], str],
                 member_of: Callable[[Any], Member] | None = None, carry: Callable[[Any], Any] | None = None) -> None:
        super().__init__()
        self._members_per_key, self._id_of, self._member_of = members_per_key, id_of, member_of
        self._carry = carry

    def expand(self, keyed: beam.PCollection) -> beam.PCollection:
        limit, id_of, member_of, carry = self._members_per_key, self._id_of, self._member_of, self._carry

        def summary_per_salt(key: Any, summary: ClusterSummary) -> list:
            return [((key, salt), summary) for salt in range(_salts(summary, limit))] if summary.count >= 2 else []

        salted_summaries = combine_per_key(
            keyed, "Summarize", _SummarizeCluster(),
            (lambda kv: (kv[0], member_of(kv[1]))) if member_of else None, then=summary_per_salt,
        )
        # Only clusters over the limit are listed: at most (documents / limit) entries.
        salts = beam.pvalue.AsDict(
            salted_summaries
            | "SaltsOfLarge" >> beam.FlatMap(
                lambda ks: [(ks[0][0], _salts(ks[1], limit))] if ks[0][1] == 0 and ks[1].count > limit else []
            )
        )
        salted_items = keyed | "SaltItems" >> beam.Map(
            lambda kv, salts: ((kv[0], _salt(id_of(kv[1]), salts.get(kv[0], 1))), carry(kv[1]) if carry else kv[1]),
            salts
        )
        return group_together([salted_items, salted_summaries], "JoinSummary")


_UNMATCHED = "unmatched"
_REMOVED = "removed"



def _check_near_members(element: tuple, threshold: float) -> Iterator[Any]:
    """((cluster key, salt), its members and summary) -> (survivor id, Match) per member
    that matches the survivor, with (member id, Decision) to _REMOVED for each of them but
    the survivor, and the unmatched as (cluster key, Member) to _UNMATCHED.

    A component's key is its root id (str); a cluster of one-shingle texts, equal
    once normalised and without sketches, is keyed by that text (bytes): all match.
    """
    (root, _), values = element
    grouped = by_type(values, CLUSTER_KINDS)
    compare = _identical if isinstance(root, bytes) else similarity
    for summary in grouped["summary"]:  # none for a member left alone: it is kept
        for member, match in check_members(grouped["item"], summary, compare, threshold):
            if match is None:
                yield TaggedOutput(_UNMATCHED, (root, member))
                continue
            survivor_id = summary.survivor.id
            yield survivor_id, match
            if match.member_id != survivor_id:
                yield TaggedOutput(_REMOVED, (match.member_id, removal_decision(survivor_id, match, "near")))


def _survivor(survivor_id: str, matched_and_weight: tuple[int, int]) -> Iterator[tuple[str, Decision]]:
    matched, weight = matched_and_weight
    decision = survivor_decision(survivor_id, matched, weight, "near")
    if decision is not None:
        yield survivor_id, decision


class _FinishRounds(beam.DoFn):
    """(root, the members the first round left) -> (id, Decision) of the later rounds, and
    (id, None) to KEPT_UNVERIFIED_TAG per member still undecided after the last round.

    In memory, per component: a remainder over ``max_members`` is kept unverified whole.
    """

    def __init__(self, options: NearDedupOptions) -> None:
        self._options = options
        self._too_large = Metrics.counter(COUNTER_NAMESPACE, "near_remainder_over_memory_limit")

    def process(self, element: tuple[str, Iterable[Member]]) -> Iterator[Any]:
        _, members = element
        options = self._options
        if sum(1 for _ in members) > options.max_members_in_memory:  # grouped values iterate again
            self._too_large.inc()
            decisions, unverified = {}, (member.id for member in members)
        else:
            decisions, unverified = survivor_verified_decisions(
                [members], "near", similarity, options.threshold, options.survivor_rounds - 1
            )
        yield from decisions.items()
        for member_id in unverified:
            yield TaggedOutput(KEPT_UNVERIFIED_TAG, (member_id, None))


class SurvivorVerifiedDecisions(beam.PTransform):
    """(root, Member) of each connected component -> (PCollections of (id, Decision), left
    unflattened: the join that applies them flattens them), (id, None) per unverified.

    The first round runs distributed: a cluster's summary names its survivor, and
    every member is checked against it (on several workers for a large cluster):
    a match is removed. The members left (the far ends of chains, few) are
    grouped per component and go through the later rounds in memory, each round
    keeping its best-ranked member and removing what matches it. See
    ``survivor.survivor_verified_decisions``, all the rounds in memory.
    """

    def __init__(self, options: NearDedupOptions) -> None:
        super().__init__()
        self._options = options

    def expand(self, clusters: beam.PCollection) -> tuple[tuple[beam.PCollection, ...], beam.PCollection]:
        checked = (
            clusters
            | "JoinMembers" >> JoinClusterSummaries(self._options.members_per_key, lambda member: member.id)
            | "Check" >> beam.FlatMap(_check_near_members, self._options.threshold).with_outputs(
                _UNMATCHED, _REMOVED, main="matches"
            )
        )
        matches = checked.matches
        survivors = combine_per_key(
            matches, "ClusterSizes", beam.combiners.TupleCombineFn(sum, sum),
            lambda survivor_match: (survivor_match[0], (1, survivor_match[1].weight)), then=_survivor,
        )
        later = (
            checked[_UNMATCHED]
            | "GroupLeft" >> beam.GroupByKey()
            | "LaterRounds" >> beam.ParDo(_FinishRounds(self._options)).with_outputs(KEPT_UNVERIFIED_TAG, main="decisions")
        )
        return (survivors, checked[_REMOVED], later.decisions), later[KEPT_UNVERIFIED_TAG]
