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
from typing import Iterable, Mapping, NamedTuple

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.metrics import Metrics
from apache_beam.pvalue import AsDict, AsList, AsSingleton

from curation import storage
from curation.checks import expect_options
from curation.hashing import seeded_hash64, sha256_hex
from curation.lean_transforms import combine_per_key
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


class _TableSpec(NamedTuple):
    """How one table is sharded: its schema, the column spread evenly over its shards, the ratio's unit."""

    table: str
    schema: pa.Schema
    class_column: str | None
    in_bytes: bool  # the data table's plan counts text bytes per class (options.ratio_unit "bytes")
    reason_column: str | None  # a removal table's reason column: each shard counts its rows by reason


def _table_spec(options: WriteOptions, table: str, schema: pa.Schema, class_column: str | None) -> _TableSpec:
    if class_column is not None and class_column not in schema.names:
        raise ValueError(f"class_column {class_column!r} is not a column of the schema")
    # The ratio's unit applies where the ratio does: the data table's classes.
    in_bytes = table == Fate.OUTPUT.table and class_column is not None and options.ratio_unit == RatioUnit.BYTES.value
    reason_column = next((fate.reason_column for fate in Fate if fate.table == table), None)
    return _TableSpec(table, schema, class_column, in_bytes, reason_column)


class _Totals(beam.CombineFn):
    """(class, text bytes) per row of one table -> its rows and text bytes per class."""

    def create_accumulator(self):
        return {}, {}

    def add_input(self, acc, sized):
        cls, size = sized
        classes, sizes = acc
        classes[cls] = classes.get(cls, 0) + 1
        sizes[cls] = sizes.get(cls, 0) + size
        return acc

    def merge_accumulators(self, accs):
        merged_classes, merged_sizes = self.create_accumulator()
        for classes, sizes in accs:
            for cls, n in classes.items():
                merged_classes[cls] = merged_classes.get(cls, 0) + n
                merged_sizes[cls] = merged_sizes.get(cls, 0) + sizes[cls]
        return merged_classes, merged_sizes

    def extract_output(self, acc):
        classes, sizes = acc
        return {"classes": classes, "class_text_bytes": sizes, "text_bytes": sum(sizes.values())}


def _plan(spec: _TableSpec, options: WriteOptions, totals: dict, given: list | None) -> dict:
    """One table's shard plan, in rows per class (or, in bytes, text bytes per class)."""
    rows = sum(totals["classes"].values())
    is_data = spec.table == Fate.OUTPUT.table
    if is_data:
        core.check_fixed_shard_count(rows, options)
    in_unit = totals["class_text_bytes"] if spec.in_bytes else totals["classes"]
    if given is not None:
        shards = [dict(s) for s in given]
    else:
        if is_data:
            count = options.shards.data_shard_count(rows, totals["text_bytes"])
        else:
            count = options.shards.side_table_shard_count(rows)
        shards = core.even_shard_plan(in_unit, count)
    unit = "text bytes" if spec.in_bytes else "rows"
    for cls, n in in_unit.items():
        if sum(s.get(cls, 0) for s in shards) != n:
            raise RuntimeError(f"shard plan places {sum(s.get(cls, 0) for s in shards)} of {n} {cls!r} {unit}")
    return {"totals": totals, "shards": shards}


def _rank_targets(plans: dict) -> dict:
    """{(table, class): (rows, cumulative targets)}: where each shard's share of a class ends."""
    return {
        (table, cls): (n, core.cumulative_ranks(plan["shards"], cls))
        for table, plan in plans.items()
        for cls, n in plan["totals"]["classes"].items()
    }


class _WriteShard(beam.DoFn):
    """Writes one shard into the staging area and reads it back: yields its description and problems."""

    def __init__(self, specs: Mapping[str, _TableSpec], options: WriteOptions, staging: str):
        self._specs, self._options, self._staging = dict(specs), options, staging
        self._rows = {table: Metrics.counter("curation.write", f"{table}_rows") for table in specs}

    def process(self, element, plans) -> Iterable[dict]:
        (table, index), rows = element
        yield self._write(table, index, rows, plans)

    def _write(self, table: str, index: int, rows: Iterable[dict], plans: Mapping[str, dict]) -> dict:
        spec, shards = self._specs[table], plans[table]["shards"]
        rows = sorted(rows, key=lambda r: (seeded_hash64(_placement(r), self._options.seed, "shuffle"), _placement(r)))
        data = core.encode_parquet(rows, spec.schema, self._options)
        name = storage.shard_name(index, len(shards))
        temp_path = storage.join(self._staging, table, name)
        storage.write_bytes(temp_path, data)
        self._rows[table].inc(len(rows))
        column = spec.class_column
        info = {
            "table": table,
            "name": name,
            "index": index,
            "temp_path": temp_path,
            "path": storage.join(table, name),
            "rows": len(rows),
            "bytes": len(data),
            "sha256": sha256_hex(data),
            "class_column": column,
            # Rows per class: as planned in rows; in bytes the plan is of text, so as placed.
            "classes": _placed_classes(rows, shards[index], spec) if column else {},
            # Text per class: the floor's measure in bytes, reported beside the row counts in rows.
            "class_text_bytes": _class_text_bytes(rows, column) if column else {},
            "ratio_unit": RatioUnit.BYTES.value if spec.in_bytes else RatioUnit.ROWS.value,
        }
        if spec.reason_column is not None:  # the manifest's reasons, counted where the rows are written
            info["reasons"] = dict(collections.Counter(r[spec.reason_column] for r in rows))
        # The floor is the data table's: other tables have no class to hold a share of.
        min_real_fraction = self._options.min_real_fraction if table == Fate.OUTPUT.table else None
        return _verify_shard(info, min_real_fraction)


class _WriteEmptyShards(_WriteShard):
    """The planned shards no row reached (a table with no rows still has one), written once
    every other shard is: plans -> every shard's description, the written ones passed on
    first (so no Flatten, a step of its own, joins the two)."""

    def process(self, plans, written: Iterable[dict]) -> Iterable[dict]:
        yield from written
        done = {(info["table"], info["index"]) for info in written}
        for table, plan in sorted(plans.items()):
            for index in range(len(plan["shards"])):
                if (table, index) not in done:
                    yield self._write(table, index, [], plans)


def _placed_classes(rows: list[dict], planned: Mapping[str, int], spec: _TableSpec) -> dict[str, int]:
    if not spec.in_bytes:
        return dict(planned)
    counts = collections.Counter(_class_of(r, spec.class_column) for r in rows)
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
        if attempt is None and not finalize:
            raise ValueError("WriteShards(finalize=False) stages into the attempt of the transform that finalizes: pass attempt=")
        self._options, self._spec, self._shard_plan = options, _table_spec(options, table, schema, class_column), shard_plan
        self._finalize = finalize
        self._attempt = attempt or storage.claim_output(options.output, options.overwrite)

    def expand(self, rows: beam.PCollection) -> beam.PCollection:
        table = self._spec.table
        plans = {table: self._shard_plan} if self._shard_plan is not None else {}
        infos = {table: rows} | _StageTables(self._options, [self._spec], self._attempt.staging, plans)
        if not self._finalize:
            return infos
        return (
            infos.pipeline
            | "Finalize" >> beam.Impulse()
            | "MoveShards" >> beam.FlatMap(
                lambda _, shards: _publish_table(self._attempt, table, shards), AsList(infos)
            )
        )


class _StageTables(beam.PTransform):
    """``{table: rows}`` -> every table's shards, written into the staging area and read back.

    All tables share one graph (one totals combine, one rank search keyed by
    (table, class), one group by (table, shard)): the runner's cost per
    transform is paid once, not once per table. Rows are placed by a seeded
    hash of their input location; a table with no rows still gets one (empty)
    shard, so readers find its schema.
    """

    def __init__(
        self, options: WriteOptions, specs: list[_TableSpec], staging: str, shard_plans: Mapping[str, beam.PCollection]
    ):
        super().__init__()
        self._options, self._specs, self._staging, self._shard_plans = options, specs, staging, dict(shard_plans)

    def _plans(self, _, totals: dict, **given) -> dict:
        # A table with no rows has no totals: it is planned as empty.
        empty = _Totals().extract_output(_Totals().create_accumulator())
        return {
            spec.table: _plan(spec, self._options, totals.get(spec.table, empty), given.get(f"given_{spec.table}"))
            for spec in self._specs
        }

    def expand(self, tables: Mapping[str, beam.PCollection]) -> beam.PCollection:
        seed, specs = self._options.seed, {spec.table: spec for spec in self._specs}

        def order_keyed(row: Mapping, spec: _TableSpec) -> tuple:
            placement = _placement(row)
            group = (spec.table, _class_of(row, spec.class_column))
            return group, (seeded_hash64(placement, seed, "shard"), placement), _text_bytes(row), row

        keyed = [
            tables[table] | f"OrderKeys_{table}" >> beam.Map(order_keyed, spec) for table, spec in specs.items()
        ] | "AllTables" >> beam.Flatten()
        totals = combine_per_key(keyed, "Totals", _Totals(), lambda t: (t[0][0], (t[0][1], t[2])))
        given = {f"given_{table}": AsSingleton(plan) for table, plan in self._shard_plans.items()}
        plans = (
            keyed.pipeline
            | "PlanOnce" >> beam.Impulse()
            | "Plan" >> beam.Map(self._plans, AsDict(totals), **given)
        )
        weighted = {table for table, spec in specs.items() if spec.in_bytes}
        # Weighted by text where the ratio counts bytes: a row goes to the shard whose share holds its last byte.
        boundaries = keyed | RankBoundaries(
            plans, weighted=True, keyed_by=lambda t: (t[0], t[1], t[2] if t[0][0] in weighted else 1),
            targets_of=_rank_targets,
        )
        assigned = keyed | "AssignShard" >> beam.Map(
            lambda t, b: ((t[0][0], bucket_of(t[1], b[t[0]])), t[3]), AsSingleton(boundaries)
        )
        written = (
            assigned
            | "GroupByShard" >> beam.GroupByKey()
            | "WriteShard" >> beam.ParDo(_WriteShard(specs, self._options, self._staging), AsSingleton(plans))
        )
        # Empty shards are written from the plan afterwards, not by sending a placeholder per
        # shard through the group: the local runner copies whatever a Flatten joins, rows included.
        return plans | "WriteEmptyShards" >> beam.ParDo(
            _WriteEmptyShards(specs, self._options, self._staging), AsList(written)
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
      run_id, config, funnel, counts, extra_sections, fixed_sections: as
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
        funnel: Mapping[str, tuple[str, str | None] | None] | None = None,
        extra_sections: beam.PCollection | None = None,
        fixed_sections: Mapping | None = None,
        data_shard_plan: beam.PCollection | None = None,
        attempt: storage.OutputAttempt | None = None,
        counts: Mapping[str, beam.PCollection] | None = None,
    ):
        super().__init__()
        expect_options(self, options, WriteOptions)
        self._options, self._run_id, self._config = options, run_id, dict(config)
        self._funnel, self._counts, self._extra, self._fixed = funnel, counts, extra_sections, fixed_sections
        self._data_shard_plan = data_shard_plan
        self._attempt = attempt or storage.claim_output(options.output, options.overwrite, run_id)

    def expand(self, tables: dict[str, beam.PCollection]) -> beam.PCollection:
        # Data shards spread each origin evenly (the ratio must hold per shard).
        specs = [
            _table_spec(self._options, fate.table, fate.schema, "origin" if fate is Fate.OUTPUT else None)
            for fate in Fate
            if fate.table in tables
        ]
        plans = {} if self._data_shard_plan is None else {Fate.OUTPUT.table: self._data_shard_plan}
        shards = {spec.table: tables[spec.table] for spec in specs} | "Stage" >> _StageTables(
            self._options, specs, self._attempt.staging, plans
        )
        return tables | "Provenance" >> WriteProvenance(
            self._run_id, self._config, self._options.output, self._attempt, shards, [spec.table for spec in specs],
            funnel=self._funnel, counts=self._counts, extra_sections=self._extra, fixed_sections=self._fixed,
        )
