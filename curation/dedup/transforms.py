"""Beam wrappers: ``ExactDedup`` and ``NearDedup``.

Both take a PCollection of record dicts (:data:`curation.schema.RECORD_SCHEMA`
keys, unique ``id``) and return a typed result, named tuples in the style of
Beam's ``RunInferenceDLQ``::

    result = records | NearDedup(NearDedupOptions())
    result.documents         # the survivors: records kept, cluster_id / cluster_size filled
    result.duplicates        # DUPLICATE_SCHEMA dicts, one per removed record
    result.kept_unverified   # NearDedup only: ids of survivors left undecided
    documents, duplicates, kept_unverified = result   # in that order (ExactDedup: the first two)

Every input record lands in exactly one of documents and duplicates. A survivor
of a cluster of two or more gets ``cluster_id`` ``"exact:<survivor id>"`` /
``"near:<survivor id>"`` and ``cluster_size`` = the documents the cluster stands
for (near: the survivor and those removed against it); a record in
no cluster keeps its cluster_id (null unless set earlier) and cluster_size
(1 if absent). Only small per-record summaries (rank, sketch) meet per
cluster, and no cluster is gathered on one worker (see
:mod:`curation.dedup.cluster_transforms`);
full records are shuffled once to be routed: by text for exact dedup, by id
for near dedup.
"""

from __future__ import annotations

from typing import Any, Iterator, NamedTuple

import apache_beam as beam
from apache_beam.pvalue import TaggedOutput

from curation.checks import expect_options
from curation.dedup.candidate_transforms import (
    BandEntriesByShard,
    ComponentMembers,
    DistinctPairEnds,
    VerifyCandidates,
)
from curation.dedup.cluster_transforms import (
    KEPT_UNVERIFIED_TAG,
    ApplyDecisions,
    JoinClusterSummaries,
    RouteByExactCluster,
    SurvivorVerifiedDecisions,
)
from curation.dedup.normalize import normalize_text
from curation.dedup.options import ExactDedupOptions, NearDedupOptions
from curation.dedup.sketch import matched_by_text_only, sketch_normalized
from curation.dedup.survivor import Member, record_weight, survivor_rank
from curation.hashing import content_hash
from curation.packed import pack
from curation.results import output_by_name
from curation.schema import Fate

_ONE_SHINGLE = "one_shingle"
_SLIM = "slim"  # a member without its signature (exact verification needs only the shingles)
_KEYED = "keyed"  # (id, record) of every record, for the join that applies the decisions


class DedupResult(NamedTuple):
    """ExactDedup's outputs: every input record is in exactly one of them (also indexable by
    name, see curation.results)."""

    documents: beam.PCollection  # the survivors: records kept, cluster_id / cluster_size filled
    duplicates: beam.PCollection  # DUPLICATE_SCHEMA dicts, one per removed record

    __getitem__ = output_by_name


class NearDedupResult(NamedTuple):
    """NearDedup's outputs: DedupResult's two, and the ids of survivors the rounds left undecided."""

    documents: beam.PCollection
    duplicates: beam.PCollection
    kept_unverified: beam.PCollection  # ids of survivors (NearDedupOptions.survivor_rounds)

    __getitem__ = output_by_name


class ExactDedup(beam.PTransform):
    """Removes records whose normalised text equals another's; one survivor per text.

    Returns a DedupResult: ``documents`` (the survivors) and ``duplicates`` (kind "exact",
    similarity 1.0). Counter ``curation.dedup/exact_duplicate``.
    """

    def __init__(self, options: ExactDedupOptions = ExactDedupOptions()) -> None:
        super().__init__()
        expect_options(self, options, ExactDedupOptions)
        self._options = options

    def expand(self, records: beam.PCollection) -> DedupResult:
        options = self._options

        def member(record: dict) -> Member:
            return Member(record["id"], survivor_rank(record, options.survivor_policy), record_weight(record), None)

        keyed = records | "KeyByText" >> beam.Map(
            lambda record: (content_hash(normalize_text(record["text"], options.normalization)), record)
        )
        # Records meet their text's summary directly: one shuffle of records, keyed by text.
        routed = (
            keyed
            | "JoinRecords" >> JoinClusterSummaries(options.members_per_key, lambda record: record["id"], member, pack)
            | "Route" >> beam.ParDo(RouteByExactCluster()).with_outputs(Fate.DUPLICATE.tag, main=Fate.OUTPUT.tag)
        )
        return DedupResult(routed[Fate.OUTPUT.tag], routed[Fate.DUPLICATE.tag])


class NearDedup(beam.PTransform):
    """Removes near-duplicates: MinHash LSH candidates, verified, clustered, one survivor each.

    A member is removed only if its similarity to the survivor it names reaches the
    threshold (``NearDedupOptions.survivor_rounds``). A text of one shingle (at most
    ``ngram_size`` words) is, above a threshold of 0.5, a near duplicate only of
    texts equal to it once normalised: those are clustered by that text alone,
    with no MinHash signature or band entries.

    Returns a NearDedupResult: ``documents`` (the survivors), ``duplicates`` (kind "near",
    similarity to the survivor as checked: estimated or exact Jaccard per
    ``verification``, never below the threshold) and ``kept_unverified`` (ids
    of survivors the rounds left undecided). Counters ``curation.dedup/``
    ``near_duplicate``, ``near_candidate_verified``, ``near_candidate_rejected``,
    ``near_kept_unverified``.
    """

    def __init__(self, options: NearDedupOptions = NearDedupOptions()) -> None:
        super().__init__()
        expect_options(self, options, NearDedupOptions)
        self._options = options

    def expand(self, records: beam.PCollection) -> NearDedupResult:
        options = self._options
        bands, rows = options.bands_and_rows

        # Exact verification compares shingle sets: once the band keys are made, the 1 KiB
        # signature is dead weight in every join and group that follows.
        drop_signature = options.verification == "shingles"

        def sketch_member(record: dict) -> Iterator[Any]:
            member = Member(record["id"], survivor_rank(record, options.survivor_policy), record_weight(record), None)
            normalized = normalize_text(record["text"], options.normalization)
            text_key = matched_by_text_only(normalized, options)
            if text_key is None:
                sketch = sketch_normalized(normalized, options)
                yield record["id"], member._replace(sketch=sketch)
                if drop_signature:
                    yield TaggedOutput(_SLIM, (record["id"], member._replace(sketch=sketch._replace(signature=b""))))
            else:  # a one-shingle text: no signature, no band entries (a corpus of single words
                # would otherwise pay ~2 KB of sketch and band keys per record)
                yield TaggedOutput(_ONE_SHINGLE, (text_key, member))
            yield TaggedOutput(_KEYED, (record["id"], pack(record)))  # for the join that applies the decisions

        sketched = records | "Sketch" >> beam.FlatMap(sketch_member).with_outputs(
            _ONE_SHINGLE, _SLIM, _KEYED, main="members")
        members, one_shingle = sketched.members, sketched[_ONE_SHINGLE]
        slim = sketched[_SLIM] if drop_signature else members
        # Buckets hold ids only: the members (rank, sketch) join the (far fewer) candidate pairs later.
        edges, paired = (
            members
            | "BandEntries" >> beam.ParDo(BandEntriesByShard(bands, rows, options.band_shards))
            | "GroupByShard" >> beam.GroupByKey()
            | "CandidatePairs" >> beam.ParDo(DistinctPairEnds(options.all_pairs_bucket_limit))
            | "Verify" >> VerifyCandidates(slim, options.threshold)
        )
        members_by_root = edges | "Components" >> ComponentMembers(
            paired, options.component_rounds, options.max_unconverged_links
        )
        # One-shingle texts are clusters of equal texts, keyed by that text (bytes; a component by its root id, str).
        clusters = (members_by_root, one_shingle) | "AllClusters" >> beam.Flatten()
        decisions, unverified = clusters | "SurvivorRounds" >> SurvivorVerifiedDecisions(options)
        routed = sketched[_KEYED] | "Apply" >> ApplyDecisions(decisions, unverified)
        return NearDedupResult(routed[Fate.OUTPUT.tag], routed[Fate.DUPLICATE.tag], routed[KEPT_UNVERIFIED_TAG])


__all__ = ["DedupResult", "ExactDedup", "NearDedup", "NearDedupResult"]
