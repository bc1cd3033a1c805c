"""Beam steps that find near-duplicate pairs: LSH band entries, candidate pairs verified
against their sketches, and the members of each connected component of the verified pairs."""

from __future__ import annotations

import itertools
from typing import Iterable, Iterator

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.pvalue import AsSingleton, TaggedOutput

from curation.bundling import BundleBuffer
from curation.dedup.cluster_transforms import COUNTER_NAMESPACE, only_value
from curation.dedup.components import ComponentsNotConvergedError, large_star, small_star, union_find_roots
from curation.dedup.minhash import band_keys
from curation.dedup.sketch import band_shard, signature_array, similarity
from curation.dedup.survivor import Member
from curation.lean_transforms import by_tag, group_tagged


# VerifyCandidates' second output: (id, Member) of the documents in candidate pairs, the only
# members the components need (a document in no pair is a singleton, left alone).
PAIRED_MEMBER_TAG = "paired_member"


def _pairs_by_first_member(element: tuple[str, Iterable[tuple[str, object]]]) -> Iterator:
    """(id_a, tagged candidate pairs (id_a, id_b) and id_a's Member) -> (id_b, member_a) per
    distinct pair, and (id_a, member_a) once to PAIRED_MEMBER_TAG.

    A pair found in several LSH bands meets here once per band: it goes on once.
    """
    id_a, tagged = element
    grouped = by_tag(tagged, ("pair", "member"))
    partners = set(grouped["pair"])
    if partners:
        member_a = only_value(grouped["member"], id_a, "records")
        yield TaggedOutput(PAIRED_MEMBER_TAG, (id_a, member_a))
        for id_b in partners:
            yield id_b, member_a


class _VerifyPairs(beam.DoFn):
    """(id_b, member_a per candidate pair and id_b's Member) -> verified edges (id_a, id_b),
    and (id_b, member_b) to PAIRED_MEMBER_TAG if any pair of it verified."""

    def __init__(self, threshold: float) -> None:
        self._threshold = threshold
        self._verified = Metrics.counter(COUNTER_NAMESPACE, "near_candidate_verified")
        self._rejected = Metrics.counter(COUNTER_NAMESPACE, "near_candidate_rejected")

    def process(self, element: tuple[str, Iterable[tuple[str, object]]]) -> Iterator:
        id_b, tagged = element
        grouped = by_tag(tagged, ("first", "member"))
        member_b = None
        for member_a in grouped["first"]:
            if member_b is None:
                member_b = only_value(grouped["member"], id_b, "records")
            if similarity(member_a.sketch, member_b.sketch) >= self._threshold:
                self._verified.inc()
                yield member_a.id, id_b
            else:  # a banding false positive: counted, never merged
                self._rejected.inc()
        if member_b is not None:
            yield TaggedOutput(PAIRED_MEMBER_TAG, (id_b, member_b))


class VerifyCandidates(beam.PTransform):
    """Candidate pairs (id_a < id_b, repeated once per band that found them) -> each distinct
    pair whose similarity reaches the threshold, once, and the Members of the paired documents.

    Each pair fetches its two members (rank and sketch) by id in two joins, so a sketch
    is shuffled about twice per document instead of once per LSH band. Returns
    ``(verified edges, (id, Member) of each document in a candidate pair, once or twice)``.
    """

    def __init__(self, members: beam.PCollection, threshold: float) -> None:
        super().__init__()
        self._members = members
        self._threshold = threshold

    def expand(self, pairs: beam.PCollection) -> tuple[beam.PCollection, beam.PCollection]:
        first = group_tagged({"pair": pairs, "member": self._members}, "JoinFirstMember") | (
            "ByLargerId" >> beam.FlatMap(_pairs_by_first_member).with_outputs(PAIRED_MEMBER_TAG, main="pairs")
        )
        verified = group_tagged({"first": first.pairs, "member": self._members}, "JoinSecondMember") | (
            "Compare" >> beam.ParDo(_VerifyPairs(self._threshold)).with_outputs(PAIRED_MEMBER_TAG, main="edges")
        )
        paired = (first[PAIRED_MEMBER_TAG], verified[PAIRED_MEMBER_TAG]) | "PairedMembers" >> beam.Flatten()
        return verified.edges, paired


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


_LINK = "link"


class _RootOfEachMember(beam.DoFn):
    """(node, [("root", centre) ..., ("member", Member) once or twice]) -> (smallest root, Member),
    and a link (smallest root, other root) to _LINK for each further root: a star not yet merged.

    A node's copies of its Member are equal (VerifyCandidates checked its id unique)."""

    def process(self, element: tuple[str, Iterable[tuple[str, object]]]) -> Iterator:
        _, tagged = element
        roots, member = set(), None
        for tag, value in tagged:
            if tag == "root":
                roots.add(value)
            else:
                member = value
        if not roots:  # in no verified pair: a singleton, left alone
            return
        root = min(roots)
        yield root, member
        for other in roots - {root}:
            yield TaggedOutput(_LINK, (root, other))


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


class ComponentMembers(beam.PTransform):
    """Verified edges -> (root, Member) for each member of a connected component of two or more,
    the root being the component's smallest id (see components.py). ``members``: at least
    the members of every node of an edge (VerifyCandidates' paired members), each once or twice.

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
        # A leaf names its centre, a centre itself: a node of an unfinished component names several.
        roots = edges | "RootsOfEachNode" >> beam.FlatMap(lambda e: ((e[1], ("root", e[0])), (e[0], ("root", e[0]))))
        members = self._members | "TagMembers" >> beam.MapTuple(lambda node, member: (node, ("member", member)))
        first = (
            (roots, members)
            | "RootsAndMembers" >> beam.Flatten()
            | "GroupByNode" >> beam.GroupByKey()
            | "FirstRoot" >> beam.ParDo(_RootOfEachMember()).with_outputs(_LINK, main="members")
        )
        merged = (
            first[_LINK]
            | "OneKey" >> beam.Map(lambda link: (None, link))
            | "GatherLinks" >> beam.GroupByKey()
            | "FinishInMemory" >> beam.Map(_merged_roots, self._max_links)
        )
        return first.members | "FinalRoot" >> beam.Map(
            lambda kv, merged: (merged.get(kv[0], kv[0]), kv[1]), AsSingleton(merged, default_value={})
        )
