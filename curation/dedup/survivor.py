"""Which record of a duplicate cluster survives, and what every member is told.

A survivor policy is a tuple of criterion names applied in order; the record
with the smallest rank wins. ``id`` is always the last tie-break, so with unique
ids the choice is a pure function of the cluster's members: the same whatever
order the runner delivers them in and however many workers there are.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, Mapping, NamedTuple

from curation.schema import DUPLICATE_SCHEMA, project_row

_ORIGIN_ORDER = {"real": 0, "synthetic": 1}  # anything else (null) ranks after both


def _origin_rank(value: Any) -> int:
    return _ORIGIN_ORDER.get(value, len(_ORIGIN_ORDER))


SURVIVOR_CRITERIA: dict[str, Callable[[Mapping[str, Any]], Any]] = {
    # declared_origin real, then synthetic, then null: keep text known to be human.
    "declared_real_first": lambda r: _origin_rank(r.get("declared_origin")),
    # the pipeline's origin label (declared or detected), same order.
    "origin_real_first": lambda r: _origin_rank(r.get("origin")),
    # the longest text keeps the most content (length in code points).
    "longest_text": lambda r: -len(r["text"]),
    "shortest_text": lambda r: len(r["text"]),
    # earliest in the input: by source, file, then line.
    "earliest_source": lambda r: (r["source"], r["source_uri"], r["source_index"]),
}
DEFAULT_SURVIVOR_POLICY = ("declared_real_first", "longest_text")


def validate_policy(policy: tuple[str, ...], owner: str) -> None:
    """Raises ValueError naming the unknown criteria and the known ones."""
    if not isinstance(policy, tuple):
        raise ValueError(f"{owner}.survivor_policy must be a tuple of criterion names, got {policy!r}")
    unknown = [name for name in policy if name not in SURVIVOR_CRITERIA]
    if unknown:
        raise ValueError(
            f"{owner}.survivor_policy has unknown criteria {unknown}; "
            f"choose from {sorted(SURVIVOR_CRITERIA)} (ties always end on the smallest id)"
        )


def survivor_rank(record: Mapping[str, Any], policy: tuple[str, ...]) -> tuple:
    """The record's rank under ``policy``: smaller survives; the id breaks ties."""
    return tuple(SURVIVOR_CRITERIA[name](record) for name in policy) + (record["id"],)


def record_weight(record: Mapping[str, Any]) -> int:
    """Documents a record stands for: its cluster_size from an earlier dedup, else 1."""
    return record.get("cluster_size") or 1


class Member(NamedTuple):
    """What a cluster needs to know about one record (not its text)."""

    id: str
    rank: tuple
    weight: int
    sketch: Any  # whatever ``similarity`` compares; None for exact dedup


class Decision(NamedTuple):
    """One member's fate: survivor when ``survivor_id`` is its own id."""

    survivor_id: str
    cluster_id: str
    cluster_size: int  # documents the survivor's cluster stands for (read on the survivor only; 0 on a near removal)
    similarity: float  # to the survivor
    kind: str  # "exact" / "near"


def cluster_id_for(kind: str, survivor_id: str) -> str:
    """Cluster ids name the stage and the survivor: ``near:<id>``, ``exact:<id>``."""
    return f"{kind}:{survivor_id}"


class ClusterSummary(NamedTuple):
    """What deciding a cluster needs: its survivor, member count and summed weight.

    Mergeable (:func:`add_member`, :func:`merge_summaries`), so a runner can build it
    from partial summaries on many workers instead of gathering the cluster.
    """

    survivor: Member | None
    count: int
    size: int


EMPTY_SUMMARY = ClusterSummary(None, 0, 0)


def _better(a: Member | None, b: Member | None) -> Member | None:
    """The member that survives of two (ranks end on the id, so with unique ids they never tie)."""
    if a is None or b is None:
        return a or b
    return a if a.rank < b.rank else b


def add_member(summary: ClusterSummary, member: Member) -> ClusterSummary:
    return ClusterSummary(_better(summary.survivor, member), summary.count + 1, summary.size + member.weight)


def merge_summaries(summaries: Iterable[ClusterSummary]) -> ClusterSummary:
    merged = EMPTY_SUMMARY
    for summary in summaries:
        merged = ClusterSummary(
            _better(merged.survivor, summary.survivor), merged.count + summary.count, merged.size + summary.size
        )
    return merged


def decision_for(
    member_id: str, sketch: Any, summary: ClusterSummary, kind: str, similarity: Callable[[Any, Any], float]
) -> Decision:
    """The Decision for one member of a summarised cluster of two or more, all of which go.

    ``cluster_size`` is the summed weight, so a cluster counts the duplicates its
    members already absorbed in an earlier stage.
    """
    survivor = summary.survivor
    score = 1.0 if member_id == survivor.id else similarity(sketch, survivor.sketch)
    return Decision(survivor.id, cluster_id_for(kind, survivor.id), summary.size, score, kind)


class Match(NamedTuple):
    """A member whose similarity to its round's survivor reached the threshold (the survivor too)."""

    member_id: str
    weight: int
    similarity: float


def check_members(
    members: Iterable[Member], summary: ClusterSummary, similarity: Callable[[Any, Any], float], threshold: float
) -> Iterator[tuple[Member, Match | None]]:
    """Each given member of a summarised cluster with its Match, or None if it is below
    ``threshold`` to the survivor (it is clustered again without the survivor).

    Like ``decision_for``, a member's outcome depends only on it and the summary, so
    a cluster can be checked in parts on several workers.
    """
    survivor = summary.survivor
    for member in members:
        score = 1.0 if member.id == survivor.id else similarity(member.sketch, survivor.sketch)
        yield member, (Match(member.id, member.weight, score) if score >= threshold else None)


def removal_decision(survivor_id: str, match: Match, kind: str) -> Decision:
    """The Decision of a member that matched its survivor (not the survivor itself)."""
    return Decision(survivor_id, cluster_id_for(kind, survivor_id), 0, match.similarity, kind)


def survivor_decision(survivor_id: str, matched: int, matched_weight: int, kind: str) -> Decision | None:
    """The survivor's Decision from the count and summed weight of the matches it got
    (itself included); None if nothing matched it: it is kept, and in no cluster."""
    if matched < 2:
        return None
    return Decision(survivor_id, cluster_id_for(kind, survivor_id), matched_weight, 1.0, kind)


def survivor_verified_decisions(
    clusters: Iterable[Iterable[Member]],
    kind: str,
    similarity: Callable[[Any, Any], float],
    threshold: float,
    rounds: int,
) -> tuple[dict[str, Decision], set[str]]:
    """What NearDedup decides, in memory: (member id -> Decision, ids kept unverified).

    Each round, every cluster of two or more keeps its best-ranked member and
    removes the members at least ``threshold`` similar to it; the others form the
    cluster of the next round. A member that ends alone was checked against every
    survivor of its cluster and is kept; members still in a cluster of two or more
    after ``rounds`` rounds are kept too, as unverified.
    """
    decisions: dict[str, Decision] = {}
    groups = [list(cluster) for cluster in clusters]
    for _ in range(rounds):
        unmatched_groups = []
        for group in groups:
            if len(group) < 2:
                continue
            summary = EMPTY_SUMMARY
            for member in group:
                summary = add_member(summary, member)
            matches, unmatched = [], []
            for member, match in check_members(group, summary, similarity, threshold):
                if match is None:
                    unmatched.append(member)
                else:
                    matches.append(match)
            survivor_id = summary.survivor.id
            decisions.update(
                (match.member_id, removal_decision(survivor_id, match, kind))
                for match in matches if match.member_id != survivor_id
            )
            decision = survivor_decision(survivor_id, len(matches), sum(m.weight for m in matches), kind)
            if decision is not None:
                decisions[survivor_id] = decision
            unmatched_groups.append(unmatched)
        groups = unmatched_groups
    return decisions, {member.id for group in groups if len(group) >= 2 for member in group}


def duplicate_row(record: Mapping[str, Any], decision: Decision) -> dict[str, Any]:
    """The DUPLICATE_SCHEMA row for a removed record."""
    return project_row(DUPLICATE_SCHEMA, record, duplicate_of=decision.survivor_id, cluster_id=decision.cluster_id,
                       similarity=decision.similarity, kind=decision.kind)


def apply_decision(record: Mapping[str, Any], decision: Decision | None) -> dict[str, Any] | None:
    """The surviving record (a new dict with cluster fields), or None if it is a duplicate.

    A record in no cluster keeps its cluster_id (null unless an earlier stage
    set it) and its cluster_size (1 if absent).
    """
    if decision is None:
        return {**record, "cluster_size": record_weight(record)}
    if decision.survivor_id != record["id"]:
        return None
    return {**record, "cluster_id": decision.cluster_id, "cluster_size": decision.cluster_size}
