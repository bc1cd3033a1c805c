"""Beam steps that find near-duplicate pairs: LSH band entries, candidate pairs verified
against their sketches, and the members of each connected component of the verified pairs."""

from __future__ import annotations

import itertools
from typing import Iterable, Iterator, NamedTuple

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.pvalue import AsSingleton, TaggedOutput

from curation.bundling import BundleBuffer
from curation.dedup.cluster_transforms import COUNTER_NAMESPACE, only_value
from curation.dedup.components import ComponentsNotConvergedError, large_star, small_star, union_find_roots
from curation.dedup.minhash import band_keys
from curation.dedup.sketch import band_shard, candidate_pairs, signature_array, similarity
from curation.dedup.survivor import Member
from curation.lean_transforms import by_type, group_together


# VerifyCandidates' second output: (id, Member) of the documents in candidate pairs, the only
# members the components need (a document in no pair is a singleton, left alone).
PAIRED_MEMBER_TAG = "paired_member"


class _PairedAfter(NamedTuple):
    """A candidate pair seen from its second (larger) id: names the first. (Seen from the
    first id, a pair is the second id, a plain str.)"""

    first_id: str


def both_ends(pair: tuple[str, str]) -> tuple[tuple[str, str], tuple[str, _PairedAfter]]:
    """A candidate pair (id_a < id_b), keyed by each of its ids, so that one join tells every
    document whether it is in a pair, and on which side."""
    id_a, id_b = pair
    return (id_a, id_b), (id_b, _PairedAfter(id_a))


class _Partner(NamedTuple):
    """A candidate pair's first member, on its way to the second (set apart from that one's own Member)."""

    member: Member


def send_to_partners(element: tuple[str, Iterable[object]]) -> Iterator:
    """(id, its Member and its candidate pairs, seen from either end) -> for the comparison's
    join: (id_b, _Partner(member)) per distinct pair it is first in, and (id, member) once if it
    is second in any; to PAIRED_MEMBER_TAG: (id, member) once if it is in any pair.

    A pair found in several LSH bands meets here once per band: it goes on once. Only
    documents that are some pair's second reach the comparison's join, so the members are
    shuffled once in full and then only where a pair needs them.
    """
    node_id, values = element
    grouped = by_type(values, {"later": str, "earlier": _PairedAfter, "member": Member})
    later, earlier = set(grouped["later"]), grouped["earlier"]
    if not later and not earlier:
        return
    member = only_value(grouped["member"], node_id, "records")
    yield TaggedOutput(PAIRED_MEMBER_TAG, (node_id, member))
    if earlier:
        yield node_id, member
    partner = _Partner(member)
    for id_b in later:
        yield id_b, partner


class _VerifyPairs(beam.DoFn):
    """(id_b, its Member and a _Partner per candidate pair it is second in) -> verified edges (id_a, id_b)."""

    def __init__(self, threshold: float) -> None:
        self._threshold = threshold
        self._verified = Metrics.counter(COUNTER_NAMESPACE, "near_candidate_verified")
        self._rejected = Metrics.counter(COUNTER_NAMESPACE, "near_candidate_rejected")

    def process(self, element: tuple[str, Iterable[object]]) -> Iterator[tuple[str, str]]:
        id_b, values = element
        grouped = by_type(values, {"first": _Partner, "member": Member})
        member_b = only_value(grouped["member"], id_b, "records")
        for partner in grouped["first"]:
            member_a = partner.member
            if similarity(member_a.sketch, member_b.sketch) >= self._threshold:
                self._verified.inc()
                yield member_a.id, id_b
            else:  # a banding false positive: counted, never merged
                self._rejected.inc()


class VerifyCandidates(beam.PTransform):
    """Candidate pairs keyed by both ends (:func:`both_ends`; repeated once per band that found
    them) -> each distinct pair whose similarity reaches the threshold, once, and the Members
    of the paired documents.

    Every member meets its pairs in one join; the members that are some pair's second then
    meet their partners' members in a second join, so a sketch is shuffled at most twice
    instead of once per LSH band, and the second time only if a pair needs it. Returns
    ``(verified edges, (id, Member) of each document in a candidate pair, once)``.
    """

    def __init__(self, members: beam.PCollection, threshold: float) -> None:
        super().__init__()
        self._members = members
        self._threshold = threshold

    def expand(self, pairs: beam.PCollection) -> tuple[beam.PCollection, beam.PCollection]:
        met = group_together([pairs, self._members], "JoinMembers") | (
            "SendToPartners" >> beam.FlatMap(send_to_partners).with_outputs(PAIRED_MEMBER_TAG, main="to_compare")
        )
        edges = (
            met.to_compare
            | "JoinPartners" >> beam.GroupByKey()
            | "Compare" >> beam.ParDo(_VerifyPairs(self._threshold))
        )
        return edges, met[PAIRED_MEMBER_TAG]


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


class DistinctPairEnds(BundleBuffer):
    """(shard, its band entries) -> both ends (:func:`both_ends`) of each distinct candidate
    pair the bundle's shards find.

    A near-duplicate pair is found in most of the LSH bands, and the bands of one pair
    fall in different shards: on bench.e2e's 4x corpus 45,866 pairs found were 5,869 distinct.
    Gathering a bundle's pairs in a set sends each on once per bundle instead of once per
    band (the join after it counts a pair once either way). At ``max_pairs`` the set is
    sent on and started again, so memory stays bounded; a pair may then go on twice.
    """

    def __init__(self, all_pairs_limit: int, max_pairs: int = 200_000) -> None:
        self._all_pairs_limit, self._max_pairs = all_pairs_limit, max_pairs
        self.empty()

    def empty(self) -> None:
        self._pairs: set[tuple[str, str]] = set()

    def add(self, shard_entries: tuple[int, Iterable[Iterable[tuple[bytes, str]]]]) -> bool:
        self._pairs.update(candidate_pairs(shard_entries[1], self._all_pairs_limit))
        return len(self._pairs) >= self._max_pairs

    def drain(self) -> Iterator[tuple[str, object]]:
        pairs = sorted(self._pairs)  # a set's order varies with the process's string hashing
        self.empty()
        return (end for pair in pairs for end in both_ends(pair))


_LINK = "link"


class _RootOfEachMember(beam.DoFn):
    """(node, [centre id ..., its Member]) -> (smallest root, Member), and a link
    (None, (smallest root, other root)) to _LINK for each further root: a star not yet merged."""

    def process(self, element: tuple[str, Iterable[object]]) -> Iterator:
        node, values = element
        grouped = by_type(values, {"root": str, "member": Member})
        roots = set(grouped["root"])
        if not roots:  # in no verified pair: a singleton, left alone
            return
        root = min(roots)
        yield root, only_value(grouped["member"], node, "records")
        for other in roots - {root}:
            yield TaggedOutput(_LINK, (None, (root, other)))  # all links meet on one key


def _merged_roots(element: tuple[None, Iterable[tuple[str, str]]], max_links: int) -> dict[str, str]:
    """The links left between stars -> {root: the smallest root of its component} for the roots that merge."""
    links = list(itertools.islice(element[1], max_links + 1))
    if len(links) > max_links:
        raise ComponentsNotConvergedError(
            f"NearDedup: more than {max_links} links between clusters are left after the distributed "
            "rounds, too many to finish on one worker; raise NearDedupOptions.component_rounds "
            "(or max_unconverged_links, if the worker has the memory)"
        )
    return {node: root for node, root in union_find_roots((), links).items() if node != root}


def _both_directions(edge: tuple[str, str]) -> tuple[tuple[str, str], tuple[str, str]]:
    return edge, (edge[1], edge[0])


def _roots(edge: tuple[str, str]) -> tuple[tuple[str, str], tuple[str, str]]:
    """A leaf names its centre, a centre itself: a node of an unfinished component names several."""
    centre, leaf = edge
    return (leaf, centre), (centre, centre)


class ComponentMembers(beam.PTransform):
    """Verified edges -> (root, Member) for each member of a connected component of two or more,
    the root being the component's smallest id (see components.py). ``members``: (id, Member)
    of at least every node of an edge, each once (VerifyCandidates' paired members).

    ``rounds`` rounds of Large-Star / Small-Star run distributed (each a
    GroupByKey by node); most components are stars after two. The links still
    joining stars after them (a graph of the stars' centres, far smaller than the
    input) are finished by union-find on one worker, at most ``max_links`` of
    them, or the job fails loudly.
    """

    def __init__(self, members: beam.PCollection, rounds: int, max_links: int) -> None:
        super().__init__()
        self._members, self._rounds, self._max_links = members, rounds, max_links

    def expand(self, edges: beam.PCollection) -> beam.PCollection:
        # Each round's last step emits what the next group needs (both directions of each
        # edge, then the roots), so no step only reshapes.
        keyed = edges | ("BothDirections" >> beam.FlatMap(_both_directions) if self._rounds else
                         "Roots" >> beam.FlatMap(_roots))
        for round_ in range(self._rounds):
            last = round_ == self._rounds - 1
            keyed = (
                keyed
                | f"GroupNeighbours{round_}" >> beam.GroupByKey()
                | f"LargeStar{round_}" >> beam.FlatMapTuple(lambda node, ns: (  # keyed by the larger node
                    (neighbour, smallest) for smallest, neighbour in large_star(node, ns)))
                | f"GroupSmallerNeighbours{round_}" >> beam.GroupByKey()
                | f"SmallStar{round_}" >> beam.FlatMapTuple(lambda node, ns, last=last: (
                    out for edge in small_star(node, ns) for out in (_roots if last else _both_directions)(edge)))
            )
        first = group_together([keyed, self._members], "GroupByNode") | (
            "FirstRoot" >> beam.ParDo(_RootOfEachMember()).with_outputs(_LINK, main="members")
        )
        merged = (
            first[_LINK]
            | "GatherLinks" >> beam.GroupByKey()
            | "FinishInMemory" >> beam.Map(_merged_roots, self._max_links)
        )
        return first.members | "FinalRoot" >> beam.Map(
            lambda kv, merged: (merged.get(kv[0], kv[0]), kv[1]), AsSingleton(merged, default_value={})
        )
