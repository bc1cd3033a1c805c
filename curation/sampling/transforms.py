"""``SelectSample``: the Beam wrapper over the sampling core.

Steps (on records whose origin :class:`~curation.origin.transforms.DecideOrigin`
decided): fit a topic model on a bounded seeded sample, key every record by stratum,
size (stratum, origin) groups in documents and text bytes, plan exact quotas
(:func:`~curation.sampling.selection.plan_selection`), then keep in each group
the records with the smallest seeded hash up to its quota (with
``ratio_unit="bytes"``: up to its byte floor, plus the next record where the
origin's total needs it). The cut-off keys come from
:class:`~curation.ranking.transforms.RankBoundaries` (weighted by text bytes in
the bytes unit), so no group is ever gathered on one worker and quotas are met
exactly (in bytes: each cell's and each origin's to within one document).
"""

from __future__ import annotations

import collections
import math
from typing import Iterable, Iterator, NamedTuple

import apache_beam as beam
from apache_beam.metrics import Metrics
from apache_beam.pvalue import AsDict, AsList, AsSingleton
from apache_beam.transforms.window import GlobalWindows

from curation.bundling import BundleBuffer
from curation.checks import expect_options
from curation.hashing import seeded_hash64
from curation.lean_transforms import batched, combine_per_key
from curation.ranking.core import bucket_of
from curation.ranking.transforms import RankBoundaries
from curation.sampling import tail_metrics
from curation.origin.core import require_decided
from curation.sampling.options import SampleOptions
from curation.sampling.selection import (
    REAL,
    SYNTHETIC,
    byte_shard_plan,
    inclusion_probability,
    plan_selection,
    sampling_report,
    selection_cutoffs,
    selection_targets,
    size_of_text,
)
from curation.sampling.strata import keys_and_word_counts
from curation.sampling.tail_metrics import by_vocabulary_shard
from curation.sampling.tokens import word_tokens
from curation.sampling.topics import TopicModel, fit_topic_model
from curation.results import output_by_name
from curation.schema import NOT_SELECTED_SCHEMA, Fate, RatioUnit, project_row, text_bytes

SELECTED = Fate.OUTPUT.tag
NOT_SELECTED = Fate.NOT_SELECTED.tag
OVER_QUOTA = "over_stratum_quota"  # the not_selected reason: the stratum's quota was filled by others
STRATIFY_BATCH = 512  # records keyed per vectorised call
WORDS_IN = "words_in"  # _Stratify's second output: the input's word counts, per vocabulary shard
WORDS_OUT = "words_out"  # _Split's third: the selected texts' word types, per vocabulary shard


def _order_key(record: dict, seed: int) -> tuple[int, str]:
    return seeded_hash64(record["id"], seed, "select"), record["id"]


def _not_selected_row(record: dict, inclusion_probability: float) -> dict:
    return project_row(NOT_SELECTED_SCHEMA, record, reason=OVER_QUOTA, inclusion_probability=inclusion_probability)


class _Split(beam.DoFn):
    """(group, order key, record) -> the record if below its group's cutoff, else a
    NOT_SELECTED row; and to WORDS_OUT the selected texts' word types per vocabulary
    shard, summed over a bundle (as ``CountWords(types_per_text=True, side="out")`` emits
    them: no counting step of its own)."""

    def __init__(self):
        self._selected = Metrics.counter("curation.sample", Fate.OUTPUT.counter)
        self._dropped = Metrics.counter("curation.sample", Fate.NOT_SELECTED.counter_name(OVER_QUOTA))
        self._words_out = CountWords(types_per_text=True, side="out")

    def start_bundle(self):
        self._words_out.empty()

    def process(self, element, boundaries, plan):
        cut, key, record = element
        # Every record of a group had the same chance: quota / size (lineage for the tables).
        probability = inclusion_probability(plan, (record["stratum"], record["origin"]))
        if bucket_of(key, boundaries[cut]) == 0:
            self._selected.inc()
            yield {**record, "inclusion_probability": probability}
            if self._words_out.add(record):
                yield from (beam.pvalue.TaggedOutput(WORDS_OUT, counts) for counts in self._words_out.drain())
        else:
            self._dropped.inc()
            yield beam.pvalue.TaggedOutput(NOT_SELECTED, _not_selected_row(record, probability))

    def finish_bundle(self):
        for counts in self._words_out.drain():
            yield beam.pvalue.TaggedOutput(WORDS_OUT, GlobalWindows.windowed_value(counts))


class _Stratify(beam.DoFn):
    """Batches of records -> ((stratum, origin), order key, record with ``stratum`` set) per
    record, as the rank search and the split read them, and to WORDS_IN the batch's word
    counts per vocabulary shard (as ``CountWords(side="in")`` emits them).

    Each text is tokenised once, for its length, its topic and the rare-vocabulary
    metric; the topic model is decoded once per worker, not per record.
    """

    def __init__(self, options: SampleOptions):
        self._options = options
        self._model = None

    def process(self, batch: list[dict], model_bytes=None) -> Iterator:
        if model_bytes is not None and self._model is None:
            self._model = TopicModel.from_bytes(model_bytes)
        for record in batch:
            require_decided(record)
        keys, word_counts = keys_and_word_counts(
            batch, self._options.strata_fields, self._options.length_buckets, self._model
        )
        seed = self._options.seed
        for record, key in zip(batch, keys):
            yield (key, record["origin"]), _order_key(record, seed), {**record, "stratum": key}
        for shard, shard_counts in word_counts.items():
            yield beam.pvalue.TaggedOutput(WORDS_IN, (shard, ("in", shard_counts)))


class CountWords(BundleBuffer):
    """Records -> (shard, (side, {word: count})) per vocabulary shard of their texts, summed over a bundle.

    Counting runs in C (``Counter.update``), and per bundle at most
    VOCABULARY_SHARDS elements cross to the combine, not one per word type.
    The Counter is flushed at ``max_types`` so memory stays bounded.
    ``types_per_text``: count each type once per text (is it present at all).
    ``side``: names the counts ("in", "out"), so both sides meet in one combine.
    """

    def __init__(self, types_per_text: bool, side: str, max_types: int = 100_000) -> None:
        self._types_per_text, self._side, self._max_types = types_per_text, side, max_types
        self.empty()

    def empty(self) -> None:
        self._counts: collections.Counter[str] = collections.Counter()

    def add(self, record: dict) -> bool:
        words = word_tokens(record["text"])
        self._counts.update(set(words) if self._types_per_text else words)
        return len(self._counts) >= self._max_types

    def drain(self) -> Iterator[tuple[int, tuple[str, dict[str, int]]]]:
        shards = by_vocabulary_shard(self._counts)
        self.empty()
        return ((shard, (self._side, counts)) for shard, counts in shards.items())


class _RareTypeTally(beam.CombineFn):
    """(side, word counts) of one vocabulary shard -> (rare types in, of them still out)."""

    def create_accumulator(self) -> dict[str, collections.Counter]:
        return {"in": collections.Counter(), "out": collections.Counter()}

    def add_input(self, acc, side_counts):
        side, counts = side_counts
        acc[side].update(counts)
        return acc

    def merge_accumulators(self, accs):
        merged = self.create_accumulator()
        for acc in accs:
            for side, counts in acc.items():
                merged[side].update(counts)
        return merged

    def extract_output(self, acc) -> tuple[int, int]:
        return tail_metrics.rare_type_tally(acc["in"], acc["out"])


def _rare_type_tallies(counts_in: beam.PCollection, counts_out: beam.PCollection) -> beam.PCollection:
    """The input's word counts (from CountWords(side="in")) and the output's word types (from
    CountWords(types_per_text=True, side="out")) -> (vocabulary shard, (rare types in, of them
    still out)) per shard."""
    return combine_per_key((counts_in, counts_out) | "BothSides" >> beam.Flatten(), "TallyShards", _RareTypeTally())


def _coverage(tallies: Iterable[tuple[int, tuple[int, int]]]) -> float:
    """(shard, (rare types in, of them still out)) per vocabulary shard -> the share kept (NaN: no rare type)."""
    rare = kept = 0
    for _, (shard_rare, shard_kept) in tallies:
        rare, kept = rare + shard_rare, kept + shard_kept
    return kept / rare if rare else math.nan


class RareVocabularyCoverage(beam.PTransform):
    """Share of the input's rare word types still in the output.

    Word counts meet per vocabulary shard (a keyed combine of count dicts), never
    as one vocabulary-sized dict on one worker: vocabularies grow with the corpus
    (names, numbers, URLs). Input: ``{"in": records, "out": records}``; output: one
    float (NaN: no rare type). ``in_counted``: "in" holds the input's word counts
    already, as ``CountWords(types_per_text=False, side="in")`` emits them.
    """

    def __init__(self, in_counted: bool = False):
        super().__init__()
        self._in_counted = in_counted

    def expand(self, records: dict[str, beam.PCollection]) -> beam.PCollection:
        counts_in = records["in"]
        if not self._in_counted:
            counts_in = counts_in | "WordsIn" >> beam.ParDo(CountWords(types_per_text=False, side="in"))
        counts_out = records["out"] | "WordsOut" >> beam.ParDo(CountWords(types_per_text=True, side="out"))
        tallies = _rare_type_tallies(counts_in, counts_out)
        # At most VOCABULARY_SHARDS tallies: one step sums them as a side input.
        return (
            records["in"].pipeline
            | "Once" >> beam.Impulse()
            | "Coverage" >> beam.Map(lambda _, tallies: _coverage(tallies), AsList(tallies))
        )


def _json_safe(value):
    """NaN (a metric with nothing to measure) becomes null: JSON has no NaN."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    return value


class SampleResult(NamedTuple):
    """What :class:`SelectSample` returns (also indexable by name: ``sample["shard_plan"]``)."""

    documents: beam.PCollection  # the selected records, origin, origin_basis and stratum set
    not_selected: beam.PCollection  # curation.schema.NOT_SELECTED_SCHEMA rows
    shard_plan: beam.PCollection  # one list of {"real": n, "synthetic": m} per shard
    report: beam.PCollection  # one {"sampling": {...}} manifest section

    __getitem__ = output_by_name


class SelectSample(beam.PTransform):
    """Selects a tail-preserving stratified sample with an exact real:synthetic plan.

    Input: deduplicated record dicts whose origin is decided (by
    :class:`~curation.origin.transforms.DecideOrigin`, after scoring if a detector ran).
    Returns a :class:`SampleResult`:
      ``documents``: the selected records, with ``origin``, ``origin_basis`` and ``stratum`` set;
      ``not_selected``: :data:`curation.schema.NOT_SELECTED_SCHEMA` rows;
      ``shard_plan``: one list of ``{"real": n, "synthetic": m}`` per shard (rows,
        or text bytes in the bytes unit), for :class:`~curation.writing.transforms.WriteShards`
        with the same ``ratio_unit``;
      ``report``: one ``{"sampling": {...}}`` manifest section.

    A record with no origin raises
    :class:`~curation.origin.core.UndecidedOriginError`; a request that
    cannot be met raises ``ImpossibleRequestError``, both before anything is written.
    """

    def __init__(self, options: SampleOptions):
        super().__init__()
        expect_options(self, options, SampleOptions)
        self._options = options

    def _topic_model(self, records: beam.PCollection):
        options = self._options
        if not options.topics:
            return None
        # A seeded, order-independent sample, bounded on every worker (a keyed combine:
        # a fraction of the transforms of a global one), fitted where the sample meets.
        model = combine_per_key(records, "FitTopics", beam.combiners.TopCombineFn(
            options.topic_sample, key=lambda t: seeded_hash64(t, options.seed, "topic-sample"), reverse=True
        ), lambda r: (None, r["text"]), then=lambda _, texts: [
            fit_topic_model(texts, options.topics, options.seed, max_documents=options.topic_sample).to_bytes()
        ])
        # No records, no sample: no model (the side input's default).
        return AsSingleton(model, default_value=None)

    def expand(self, records: beam.PCollection) -> SampleResult:
        options = self._options
        model_bytes = self._topic_model(records)

        side = {"model_bytes": model_bytes} if model_bytes is not None else {}
        stratified = (
            batched(records, "Batch", STRATIFY_BATCH)
            | "Stratify" >> beam.ParDo(_Stratify(options), **side).with_outputs(WORDS_IN, main="records")
        )
        words_in, with_keys = stratified[WORDS_IN], stratified.records
        counts = combine_per_key(
            with_keys, "SizeGroups", beam.combiners.TupleCombineFn(sum, sum, max),
            lambda t: (t[0], size_of_text(t[2]["text"])),
        )
        plan = (
            records.pipeline
            | "PlanOnce" >> beam.Impulse()
            | "Plan" >> beam.Map(lambda _, groups: plan_selection(groups, options), AsDict(counts))
        )
        in_bytes = options.ratio_unit == RatioUnit.BYTES.value
        # In bytes, each cell is cut at its floor; the crossing records decided per origin
        # (curation.sampling.selection).
        keyed_by = (lambda t: (t[0], t[1], text_bytes(t[2]["text"]))) if in_bytes else (lambda t: (t[0], t[1]))
        cutoffs = with_keys | RankBoundaries(
            plan, weighted=in_bytes, extents=in_bytes, keyed_by=keyed_by, targets_of=selection_targets,
            then=lambda p, found: selection_cutoffs(p, found, options.seed),
        )
        split = with_keys | "Split" >> beam.ParDo(_Split(), AsSingleton(cutoffs), AsSingleton(plan)).with_outputs(
            NOT_SELECTED, WORDS_OUT, main=SELECTED
        )
        selected_sizes = AsDict(combine_per_key(
            split[SELECTED], "SizeSelected", beam.combiners.TupleCombineFn(sum, sum),
            lambda r: ((r["stratum"], r["origin"]), (1, text_bytes(r["text"]))),
        ))
        if in_bytes:
            # Shards are planned on the bytes actually selected (quotas are met to within a document).
            shard_plan = plan | "ShardPlan" >> beam.Map(
                lambda p, selected: byte_shard_plan(
                    {o: sum(b for (_, origin), (_, b) in selected.items() if origin == o) for o in (REAL, SYNTHETIC)},
                    p["num_shards"],
                ),
                selected_sizes,
            )
        else:
            shard_plan = plan | "ShardPlan" >> beam.Map(lambda p: p["shards"])
        # The rare-vocabulary figure, summed where the report is made (at most VOCABULARY_SHARDS tallies).
        rare_tallies = _rare_type_tallies(words_in, split[WORDS_OUT])
        report = plan | "Report" >> beam.Map(
            lambda p, selected, tallies: {
                "sampling": _json_safe(sampling_report(p, selected, _coverage(tallies), options))
            },
            selected_sizes,
            AsList(rare_tallies),
        )
        return SampleResult(documents=split[SELECTED], not_selected=split[NOT_SELECTED], shard_plan=shard_plan,
                            report=report)
