"""``WriteShards`` and ``WriteCuratedOutput``: the Beam wrappers over :mod:`curation.writing.core`.

Writing is two-phase, like Beam's own file sinks: the run's whole output is
built in its own staging area (see :mod:`curation.storage`), every shard
is read back and checked, and only then does one finalizing step move
everything to its final name, the manifest last. A failed check deletes the
run's staging area and fails the job, so no shard ever sits under its final name
half-written or unverified, and an earlier output stays as it was.
"""

from __future__ import annotations

import collections
import io
from typing import Iterable, Mapping

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.metrics import Metrics
from apache_beam.pvalue import AsList, AsSingleton

from curation import storage
from curation.checks import expect_options
from curation.hashing import seeded_hash64, sha256_hex
from curation.provenance.transforms import WriteProvenance
from curation.ranking.core import bucket_of
from curation.ranking.transforms import RankBoundaries
from curation.schema import RECORD_SCHEMA, UNKNOWN_CLASS, Fate, RatioUnit, text_bytes
from curation.writing import core
from curation.writing.options import WriteOptions

_SINGLE_CLASS = "all"


def _placement(row: Mapping) -> str:
    # Every table's rows carry their input location, unique per input record.
    return f"{row['source_uri']}#{row['source_index']}"


def _class_of(row: Mapping, class_column: str | None) -> str:
    if class_column is None:
        return _SINGLE_CLASS
    return row.get(class_column) or UNKNOWN_CLASS


def _text_bytes(row: Mapping) -> int:
    return text_bytes(row["text"]) if "text" in row else 0


def _class_text_bytes(rows: Iterable[Mapping], class_column: str) -> dict[str, int]:
    """UTF-8 bytes of text per class."""
    totals: dict[str, int] = {}
    for row in rows:
        cls = _class_of(row, class_column)
        totals[cls] = totals.get(cls, 0) + _text_bytes(row)
    return dict(sorted(totals.items()))


class _Totals(beam.CombineFn):
    """Rows and text bytes per class of a table."""

    def __init__(self, class_column: str | None):
        self._class_column = class_column

    def create_accumulator(self):
        return {}, {}

    def add_input(self, acc, row):
        classes, sizes = acc
        cls = _class_of(row, self._class_column)
        classes[cls] = classes.get(cls, 0) + 1
        sizes[cls] = sizes.get(cls, 0) + _text_bytes(row)
        return classes, sizes

    def merge_accumulators(self, accs):
        merged, merged_sizes = {}, {}
        for classes, sizes in accs:
            for cls, n in classes.items():
                merged[cls] = merged.get(cls, 0) + n
                merged_sizes[cls] = merged_sizes.get(cls, 0) + sizes[cls]
        return merged, merged_sizes

    def extract_output(self, acc):
        classes, sizes = acc
        return {"classes": classes, "class_text_bytes": sizes, "text_bytes": sum(sizes.values())}


class _WriteShard(beam.DoFn):
    """Writes one shard into the staging area and reads it back: yields its description and problems."""

    def __init__(
        self, table: str, schema: pa.Schema, options: WriteOptions, class_column: str | None, staging: str,
        in_bytes: bool = False,
    ):
        self._table, self._schema, self._options, self._class_column = table, schema, options, class_column
        self._staging = staging
        self._in_bytes = in_bytes
        # The floor is the data table's: other tables have no class to hold a share of.
        self._min_real_fraction = options.min_real_fraction if table == Fate.OUTPUT.table else None
        self._rows = Metrics.counter("curation.write", f"{table}_rows")

    def process(self, element, plan) -> Iterable[dict]:
        index, rows = element
        rows = sorted(
            (r for r in rows if r is not None),
            key=lambda r: (seeded_hash64(_placement(r), self._options.seed, "shuffle"), _placement(r)),
        )
        data = core.encode_parquet(rows, self._schema, self._options)
        count = len(plan["shards"])
        name = storage.shard_name(index, count)
        temp_path = storage.join(self._staging, self._table, name)
        storage.write_bytes(temp_path, data)
        self._rows.inc(len(rows))
        info = {
            "table": self._table,
            "name": name,
            "index": index,
            "temp_path": temp_path,
            "path": storage.join(self._table, name),
            "rows": len(rows),
            "bytes": len(data),
            "sha256": sha256_hex(data),
            "class_column": self._class_column,
            # Rows per class: as planned in rows; in bytes the plan is of text, so as placed.
            "classes": self._classes(rows, plan["shards"][index]) if self._class_column else {},
            # Text per class: the floor's measure in bytes, reported beside the row counts in rows.
            "class_text_bytes": _class_text_bytes(rows, self._class_column) if self._class_column else {},
            "ratio_unit": RatioUnit.BYTES.value if self._in_bytes else RatioUnit.ROWS.value,
        }
        yield _verify_shard(info, self._min_real_fraction)

    def _classes(self, rows: list[dict], planned: Mapping[str, int]) -> dict[str, int]:
        if not self._in_bytes:
            return dict(planned)
        counts = collections.Counter(_class_of(r, self._class_column) for r in rows)
        return {cls: counts.get(cls, 0) for cls in sorted(set(planned) | set(counts))}


def _verify_shard(info: dict, min_real_fraction: float | None) -> dict:
    """Reads a written shard back and records any mismatch in ``problems``."""
    data = storage.read_bytes(info["temp_path"])
    problems = []
    if sha256_hex(data) != info["sha256"]:
        problems.append(f"{info['name']}: bytes on storage differ from the bytes written")
    parquet = pq.ParquetFile(io.BytesIO(data))
    column = info["class_column"]
    in_bytes = info["ratio_unit"] == RatioUnit.BYTES.value
    classes, class_text_bytes = {}, None
    if column:
        # In bytes the floor is on the text, so the text is read back and measured too.
        table = parquet.read(columns=[column, "text"] if in_bytes else [column])
        classes = core.class_counts_of(table, column)
        class_text_bytes = core.class_text_bytes_of(table, column) if in_bytes else None
    found = core.ShardContents(parquet.metadata.num_rows, classes, class_text_bytes)
    problems += core.check_shard(info, found, min_real_fraction, info["ratio_unit"])
    return {**info, "problems": problems}


class WriteShards(beam.PTransform):
    """Writes records as balanced, deterministic Parquet shards of one table.

    Args:
      options: the :class:`WriteOptions`.
      table: the table's folder under ``options.output`` (``data``, ``rejected``, ...).
      schema: the table's pyarrow schema.
      class_column: a column whose values are spread evenly over the shards
        (``origin`` for data, so every shard gets its share of real records);
        None for none.
      shard_plan: a single-element PCollection: a list with one
        ``{class: rows}`` per shard (as the sampler plans it, so that every
        shard meets the real:synthetic floor); its totals must match the input.
        With ``options.ratio_unit="bytes"`` the data table's plan (given or
        not) counts UTF-8 bytes of text per class instead of rows.
        None: the shard count follows the size targets and every class is
        spread evenly.
      finalize: move the verified shards to their final names here. A job that
        writes several tables passes False and lets :class:`WriteCuratedOutput`
        move everything at once.
      attempt: the claim on the output to stage into (from
        :func:`~curation.storage.claim_output`); None: claim
        ``options.output`` now, when the pipeline is built (needs ``finalize``).

    Returns a PCollection of verified shard descriptions.
    """

    def __init__(
        self,
        options: WriteOptions,
        table: str = Fate.OUTPUT.table,
        schema: pa.Schema = RECORD_SCHEMA,
        class_column: str | None = "origin",
        shard_plan: beam.PCollection | None = None,
        finalize: bool = True,
        attempt: storage.OutputAttempt | None = None,
    ):
        super().__init__()
        expect_options(self, options, WriteOptions)
        if class_column is not None and class_column not in schema.names:
            raise ValueError(f"class_column {class_column!r} is not a column of the schema")
        if attempt is None and not finalize:
            raise ValueError("WriteShards(finalize=False) stages into the attempt of the transform that finalizes: pass attempt=")
        self._options, self._table, self._schema = options, table, schema
        self._class_column, self._shard_plan, self._finalize = class_column, shard_plan, finalize
        # The ratio's unit applies where the ratio does: the data table's classes.
        self._in_bytes = table == Fate.OUTPUT.table and class_column is not None and options.ratio_unit == RatioUnit.BYTES.value
        self._attempt = attempt or storage.claim_output(options.output, options.overwrite)

    def _plan(self, totals: dict, given: list | None = None) -> dict:
        """The shard plan, in rows per class (or, in bytes, text bytes per class)."""
        rows = sum(totals["classes"].values())
        if self._table == Fate.OUTPUT.table:
            core.check_fixed_shard_count(rows, self._options)
        in_unit = totals["class_text_bytes"] if self._in_bytes else totals["classes"]
        if given is not None:
            shards = [dict(s) for s in given]
        else:
            if self._table == Fate.OUTPUT.table:
                count = self._options.shards.data_shard_count(rows, totals["text_bytes"])
            else:
                count = self._options.shards.side_table_shard_count(rows)
            shards = core.even_shard_plan(in_unit, count)
        unit = "text bytes" if self._in_bytes else "rows"
        for cls, n in in_unit.items():
            if sum(s.get(cls, 0) for s in shards) != n:
                raise RuntimeError(f"shard plan places {sum(s.get(cls, 0) for s in shards)} of {n} {cls!r} {unit}")
        return {"totals": totals, "shards": shards}

    def expand(self, rows: beam.PCollection) -> beam.PCollection:
        class_column, seed = self._class_column, self._options.seed
        totals = rows | "Totals" >> beam.CombineGlobally(_Totals(class_column))
        if self._shard_plan is None:
            plan = totals | "Plan" >> beam.Map(self._plan)
        else:
            plan = totals | "Plan" >> beam.Map(self._plan, AsSingleton(self._shard_plan))
        targets = plan | "RankTargets" >> beam.Map(
            lambda p: {cls: (n, core.cumulative_ranks(p["shards"], cls)) for cls, n in p["totals"]["classes"].items()}
        )
        with_keys = rows | "OrderKeys" >> beam.Map(
            lambda r: (_class_of(r, class_column), (seeded_hash64(_placement(r), seed, "shard"), _placement(r)), r)
        )
        if self._in_bytes:
            # Weighted by text: a row goes to the shard whose share holds its last byte.
            keys = with_keys | "KeysOnly" >> beam.Map(lambda t: (t[0], t[1], _text_bytes(t[2])))
        else:
            keys = with_keys | "KeysOnly" >> beam.Map(lambda t: (t[0], t[1]))
        boundaries = keys | RankBoundaries(targets, weighted=self._in_bytes)
        assigned = with_keys | "AssignShard" >> beam.Map(
            lambda t, b: (bucket_of(t[1], b[t[0]]), t[2]), AsSingleton(boundaries)
        )
        # One placeholder per shard, so a shard with no rows is still written (readers need its schema).
        placeholders = plan | "Placeholders" >> beam.FlatMap(lambda p: [(j, None) for j in range(len(p["shards"]))])
        infos = (
            (assigned, placeholders)
            | "WithPlaceholders" >> beam.Flatten()
            | "GroupByShard" >> beam.GroupByKey()
            | "WriteShard" >> beam.ParDo(
                _WriteShard(
                    self._table, self._schema, self._options, class_column, self._attempt.staging, self._in_bytes
                ),
                AsSingleton(plan),
            )
        )
        if not self._finalize:
            return infos
        return (
            infos.pipeline
            | "Finalize" >> beam.Create([None])
            | "MoveShards" >> beam.FlatMap(
                lambda _, shards, table: _publish_table(self._attempt, table, shards),
                AsList(infos),
                self._table,
            )
        )


def _publish_table(attempt: storage.OutputAttempt, table: str, shards: list[dict]) -> list[dict]:
    """Moves one table's verified shards (and no manifest) into the output; on failure drops this attempt's storage."""
    try:
        storage.publish(attempt, {table: shards})
    except BaseException:
        attempt.abandon()
        raise
    return sorted(shards, key=lambda s: s["index"])


class WriteCuratedOutput(beam.PTransform):
    """Writes every table of a curation run and its ``manifest.json``, atomically.

    Each table goes through :class:`WriteShards` into the run's staging area;
    :class:`~curation.provenance.transforms.WriteProvenance` then writes the
    manifest and the documents and publishes everything at once.

    Input: a dict of PCollections with keys ``data`` (records), ``rejected``,
    ``files`` (from :class:`~curation.reading.transforms.ReadDocuments`), and
    optionally ``duplicates`` and ``not_selected``.

    Args:
      options: the :class:`WriteOptions`.
      run_id, config, stages, counts, extra_sections: as
        :class:`~curation.provenance.transforms.WriteProvenance` takes them.
      data_shard_plan: the data table's shard plan (see :class:`WriteShards`), or None.
      attempt: the claim on the output (from
        :func:`~curation.storage.claim_output`, whose caller abandons it
        if the pipeline fails); None: claim ``options.output`` now, when the
        pipeline is built.

    Returns a single-element PCollection: the manifest dict.
    """

    def __init__(
        self,
        options: WriteOptions,
        run_id: str,
        config: Mapping,
        stages: Mapping[str, beam.PCollection] | None = None,
        extra_sections: beam.PCollection | None = None,
        data_shard_plan: beam.PCollection | None = None,
        attempt: storage.OutputAttempt | None = None,
        counts: Mapping[str, beam.PCollection] | None = None,
    ):
        super().__init__()
        expect_options(self, options, WriteOptions)
        self._options, self._run_id, self._config = options, run_id, dict(config)
        self._stages, self._counts, self._extra = stages, counts, extra_sections
        self._data_shard_plan = data_shard_plan
        self._attempt = attempt or storage.claim_output(options.output, options.overwrite, run_id)

    def expand(self, tables: dict[str, beam.PCollection]) -> beam.PCollection:
        shards = {}
        for fate in Fate:
            if fate.table not in tables:
                continue
            is_data = fate is Fate.OUTPUT
            # Data shards spread each origin evenly (the ratio must hold per shard).
            shards[fate.table] = tables[fate.table] | f"Write_{fate.table}" >> WriteShards(
                self._options, fate.table, fate.schema, "origin" if is_data else None,
                self._data_shard_plan if is_data else None, finalize=False, attempt=self._attempt,
            )
        return tables | "Provenance" >> WriteProvenance(
            self._run_id, self._config, self._options.output, self._attempt, shards,
            stages=self._stages, counts=self._counts, extra_sections=self._extra,
        )
