"""Which record of a duplicate cluster survives, and what every member is told.

A survivor policy is a tuple of criterion names applied in order; the record
with the smallest rank wins. ``id`` is always the last tie-break, so with unique
ids the choice is a pure function of the cluster's members: the same whatever
order the runner delivers them in and however many workers there are.
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, Mapping, NamedTuple

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
    cluster_size: int
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


def decide(
    members: Iterable[Member], summary: ClusterSummary, kind: str, similarity: Callable[[Any, Any], float]
) -> Iterator[tuple[str, Decision]]:
    """(member id, Decision) for the given members of a summarised cluster of two or more.

    ``members`` may be any part of the cluster: the decisions of each member
    depend only on it and the summary. ``cluster_size`` is the summed weight, so
    a near cluster counts the exact duplicates its members already absorbed.
    """
    if summary.count < 2:
        return
    for member in members:
        yield member.id, decision_for(member.id, member.sketch, summary, kind, similarity)


def decision_for(
    member_id: str, sketch: Any, summary: ClusterSummary, kind: str, similarity: Callable[[Any, Any], float]
) -> Decision:
    """The Decision for one member of a summarised cluster of two or more."""
    survivor = summary.survivor
    score = 1.0 if member_id == survivor.id else similarity(sketch, survivor.sketch)
    return Decision(survivor.id, cluster_id_for(kind, survivor.id), summary.size, score, kind)


def duplicate_row(record: Mapping[str, Any], decision: Decision) -> dict[str, Any]:
    """The DUPLICATE_SCHEMA row for a removed record."""
    return {
        "id": record["id"],
        "duplicate_of": decision.survivor_id,
        "cluster_id": decision.cluster_id,
        "similarity": decision.similarity,
        "kind": decision.kind,
        "source": record["source"],
        "source_uri": record["source_uri"],
        "source_index": record["source_index"],
        "run_id": record["run_id"],
    }


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
