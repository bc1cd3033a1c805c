"""Provenance's Beam wrappers: ``WriteProvenance`` (the manifest, card, Croissant and
report of a run, and its publication) and ``LogProgress`` (progress lines).

:class:`WriteProvenance` is the last step of a run: the tables are staged and
their shards verified (by :class:`~curation.writing.transforms.WriteShards`);
it counts the funnel and every removal's reasons, builds the manifest from those
counts and the shards' descriptions, writes the documents beside it, and only
then publishes the whole output, the manifest last.
"""

from __future__ import annotations

import collections
import logging
from typing import Callable, Hashable, Iterator, Mapping

import apache_beam as beam
from apache_beam.pvalue import AsDict, AsList, AsSingleton

from curation import storage
from curation.bundling import BundleBuffer
from curation.provenance.card import write_dataset_card
from curation.provenance.croissant import write_croissant
from curation.provenance.manifest import build_manifest
from curation.provenance.progress import DEFAULT_INTERVAL_SECONDS, ProgressMeter
from curation.provenance.report import write_report
from curation.schema import Fate

_LOG = logging.getLogger("curation.progress")
_STAGE = "(stage)"  # tally key of a funnel stage's count; the other keys are table names
_COUNT = "(count)"  # tally key of a named count (manifest "counts")


class _Tally(BundleBuffer):
    """Rows -> (key, rows with that key in the bundle) for each key seen."""

    def __init__(self, key_of: Callable[[Mapping], Hashable]) -> None:
        self._key_of = key_of
        self.empty()

    def empty(self) -> None:
        self._counts: collections.Counter = collections.Counter()

    def add(self, row: Mapping) -> bool:
        self._counts[self._key_of(row)] += 1
        return len(self._counts) >= 10_000  # reason columns are small vocabularies; a bound all the same

    def drain(self) -> Iterator[tuple[Hashable, int]]:
        counts = self._counts
        self.empty()
        return iter(counts.items())


class WriteProvenance(beam.PTransform):
    """Writes a run's ``manifest.json``, dataset card, Croissant and report, and publishes the run.

    Input: the run's tables, a dict of PCollections keyed by table name
    (``data``, ``rejected``, ...) and ``files`` (the input files' descriptions,
    the one read here: each removal table's rows are counted by reason where
    they are written, in its shard descriptions' ``reasons``).

    Args:
      run_id: the run's id, as stamped on the rows.
      config: the run's configuration, recorded in the manifest.
      output: the output directory (the documents name it).
      attempt: the claim on the output whose staging area holds the shards.
      shards: a PCollection of the verified shard descriptions of every table
        (from :class:`~curation.writing.transforms.WriteShards` with
        ``finalize=False``), each naming its ``table``; a shard whose read-back
        check found a problem fails the run unpublished; a removal table's
        shards carry ``reasons`` (``{reason: rows}``).
      shard_tables: the tables those shards make up (listed by name in the documents).
      stages: ``{stage name: PCollection}``, counted into the manifest's funnel
        in the given order.
      counts: ``{name: PCollection}``, each PCollection's elements counted into the
        manifest's ``counts`` (e.g. ``dedup.near.kept_unverified``; 0 when empty).
      extra_sections: a single-element PCollection of a dict merged into the
        manifest (detector, sampling figures...), or None.

    Returns a single-element PCollection: the manifest dict.
    """

    def __init__(
        self,
        run_id: str,
        config: Mapping,
        output: str,
        attempt: storage.OutputAttempt,
        shards: beam.PCollection,
        shard_tables: list[str],
        stages: Mapping[str, beam.PCollection] | None = None,
        counts: Mapping[str, beam.PCollection] | None = None,
        extra_sections: beam.PCollection | None = None,
    ):
        super().__init__()
        self._run_id, self._config, self._output, self._attempt = run_id, dict(config), output, attempt
        self._shards, self._shard_tables = shards, list(shard_tables)
        self._stages = dict(stages or {})
        self._counts = dict(counts or {})
        self._extra = extra_sections

    def expand(self, tables: dict[str, beam.PCollection]) -> beam.PCollection:
        # The funnel's stages and the named counts, counted in one keyed combine; each
        # bundle sends it a few subtotals, not one element per record. (The removal
        # tables' reasons come with their shards: each shard counts its rows by reason.)
        tallies = [
            pcoll | f"CountStage_{name}" >> beam.ParDo(_Tally(lambda _, n=name: (_STAGE, n)))
            for name, pcoll in self._stages.items()
        ] + [
            pcoll | f"Count_{name}" >> beam.ParDo(_Tally(lambda _, n=name: (_COUNT, n)))
            for name, pcoll in self._counts.items()
        ]
        counts = (
            tallies
            | "AllCounts" >> beam.Flatten(pipeline=tables[Fate.OUTPUT.table].pipeline)
            | "Count" >> beam.CombinePerKey(sum)
        )
        side = {
            "input_files": AsList(tables["files"]),
            "counts": AsDict(counts),
            "shards": AsList(self._shards),
        }
        if self._extra is not None:
            side["extra"] = AsSingleton(self._extra)
        return (
            tables[Fate.OUTPUT.table].pipeline
            | "Finalize" >> beam.Impulse()
            | "WriteManifest" >> beam.Map(self._finalize, **side)
        )

    def _finalize(self, _, input_files, counts, shards, extra=None) -> dict:
        tables = {table: [] for table in sorted(self._shard_tables)}
        for shard in shards:
            tables[shard["table"]].append(shard)
        reasons = {fate.table: collections.Counter() for fate in Fate.removals() if fate.table in tables}
        for table, table_shards in tables.items():
            if table in reasons:
                for shard in table_shards:
                    reasons[table].update(shard["reasons"])
        reasons = {table: dict(counter) for table, counter in reasons.items()}
        if self._counts:
            named = {"counts": {n: counts.get((_COUNT, n), 0) for n in sorted(self._counts)}}
            extra = {**(extra or {}), **named}
        attempt, output = self._attempt, self._output
        try:
            manifest = build_manifest(
                run_id=self._run_id,
                config=self._config,
                files=input_files,
                stage_counts={n: counts.get((_STAGE, n), 0) for n in self._stages},
                reasons=reasons,
                tables=tables,
                extra=extra,
            )
            # Before the documents, which read the shards: a bad shard fails as itself
            # (publish checks again, for callers that publish without documents).
            storage.refuse_unverified(tables)
            # The whole output is built aside: a failure up to the move leaves an earlier output untouched.
            storage.write_json(storage.join(attempt.staging, storage.MANIFEST), manifest)
            # Documentation for people and dataset tools, from the manifest and the staged shards.
            write_dataset_card(manifest, output, attempt.staging)
            write_croissant(manifest, output, attempt.staging)
            write_report(manifest, output, attempt.staging)
            storage.publish(attempt, tables, storage.RUN_FILES)
        except BaseException:
            attempt.abandon()
            raise
        return manifest


class _Meter(beam.DoFn):
    def __init__(self, stage: str, interval: float):
        self._stage, self._interval = stage, interval

    def setup(self):
        # One meter per worker process: its rate is that worker's share of the stage.
        self._meter = ProgressMeter(self._stage, self._interval)

    def process(self, record):
        line = self._meter.add(len(record["text"]) if "text" in record else 0)
        if line:
            _LOG.info(line)
        yield record


class LogProgress(beam.PTransform):
    """Passes records through unchanged, logging records, MB and rate for ``stage`` per interval."""

    def __init__(self, stage: str, interval: float = DEFAULT_INTERVAL_SECONDS):
        super().__init__()
        if interval <= 0:
            raise ValueError(f"interval must be positive, got {interval}")
        self._stage, self._interval = stage, interval

    def expand(self, records: beam.PCollection) -> beam.PCollection:
        return records | beam.ParDo(_Meter(self._stage, self._interval))
