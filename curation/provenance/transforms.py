"""Provenance's Beam wrappers: ``WriteProvenance`` (the manifest, card, Croissant and
report of a run, and its publication) and ``LogProgress`` (progress lines).

:class:`WriteProvenance` is the last step of a run: the tables are staged and
their shards verified (by :class:`~curation.writing.transforms.WriteShards`);
it derives the funnel from every removal's reasons (counted where each shard
is written), builds the manifest from those counts and the shards'
descriptions, writes the documents beside it, and only then publishes the
whole output, the manifest last.
"""

from __future__ import annotations

import collections
from typing import Iterator, Mapping

import apache_beam as beam
from apache_beam.pvalue import AsList, AsSingleton

from curation import storage
from curation.bundling import BundleBuffer
from curation.progress import DEFAULT_INTERVAL_SECONDS, StageProgress
from curation.provenance.card import write_dataset_card
from curation.provenance.croissant import write_croissant
from curation.provenance.manifest import build_manifest, funnel_counts
from curation.provenance.report import write_report
from curation.schema import Fate


class _CountPerBundle(BundleBuffer):
    """Elements -> the number of them in each (non-empty) bundle."""

    def empty(self) -> None:
        self._count = 0

    def add(self, _) -> bool:
        self._count += 1
        return False  # one integer per bundle, however large

    def drain(self) -> Iterator[int]:
        count, self._count = self._count, 0
        if count:
            yield count


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
      funnel: ``{stage name: the removal before it}``, the manifest's funnel in
        the given order, each stage's records derived from the removal tables'
        reasons (a removed row is counted once, where it is written): the first
        stage holds every valid record (read, not rejected); a removal is None
        (nothing removed since the stage before), ``(table, None)`` (all of a
        table's rows) or ``(table, reason)``.
      counts: ``{name: PCollection}``, each PCollection's elements counted into the
        manifest's ``counts`` (e.g. ``dedup.near.kept_unverified``; 0 when empty).
      extra_sections: a single-element PCollection of a dict merged into the
        manifest (sampling figures...), or None.
      fixed_sections: a dict merged into the manifest, known when the pipeline is
        built (the detector's section), or None.

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
        funnel: Mapping[str, tuple[str, str | None] | None] | None = None,
        counts: Mapping[str, beam.PCollection] | None = None,
        extra_sections: beam.PCollection | None = None,
        fixed_sections: Mapping | None = None,
    ):
        super().__init__()
        self._run_id, self._config, self._output, self._attempt = run_id, dict(config), output, attempt
        self._shards, self._shard_tables = shards, list(shard_tables)
        self._funnel = dict(funnel or {})
        self._counts = dict(counts or {})
        self._extra = extra_sections
        self._fixed = dict(fixed_sections or {})

    def expand(self, tables: dict[str, beam.PCollection]) -> beam.PCollection:
        # Each named count arrives as one subtotal per bundle, summed where the manifest is
        # built: a side input of a few numbers, no shuffle.
        side = {
            "input_files": AsList(tables["files"]),
            "shards": AsList(self._shards),
        } | {
            f"count:{name}": AsList(pcoll | f"Count_{name}" >> beam.ParDo(_CountPerBundle()))
            for name, pcoll in self._counts.items()
        }
        if self._extra is not None:
            side["extra"] = AsSingleton(self._extra)
        return (
            tables[Fate.OUTPUT.table].pipeline
            | "Finalize" >> beam.Impulse()
            | "WriteManifest" >> beam.Map(self._finalize, **side)
        )

    def _finalize(self, _, input_files, shards, extra=None, **subtotals) -> dict:
        extra = {**self._fixed, **(extra or {})}
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
            named = {n: sum(subtotals[f"count:{n}"]) for n in sorted(self._counts)}
            extra["counts"] = named
        attempt, output = self._attempt, self._output
        try:
            manifest = build_manifest(
                run_id=self._run_id,
                config=self._config,
                files=input_files,
                stage_counts=funnel_counts(self._funnel, input_files, reasons),
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
        StageProgress(stage, interval)  # a bad interval fails at launch; the worker's meter starts in setup
        self._stage, self._interval = stage, interval

    def setup(self):
        self._progress = StageProgress(self._stage, self._interval)

    def process(self, record):
        self._progress.add(len(record["text"]) if "text" in record else 0)
        yield record


class LogProgress(beam.ParDo):
    """Passes records through unchanged, logging records, MB and rate for ``stage`` per interval.

    A ParDo itself, not a composite around one: one transform in the graph.
    """

    def __init__(self, stage: str, interval: float = DEFAULT_INTERVAL_SECONDS):
        super().__init__(_Meter(stage, interval))
