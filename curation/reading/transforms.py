"""``ReadDocuments``: the Beam wrapper over the pure reading modules (:mod:`curation.reading.files`, ...)."""

from __future__ import annotations

import collections
import os
from typing import Any, Iterable, NamedTuple

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from curation.checks import expect_options
from curation.progress import StageProgress
from curation.reading import compression, splits
from curation.reading.files import read_file
from curation.reading.ids import duplicate_id_row, first_location_of_reused_ids, id_bucket, location
from curation.reading.options import ReadOptions
from curation.reading.specs import InputSpec, file_format
from curation.reading.splits import FileSplit
from curation.results import output_by_name
from curation.schema import Fate, RejectReason

FILES = "files"  # tag of the per-file summaries: {"uri", "source", "bytes", "records"}
_COUNTER_NAMESPACE = "curation.read"


class ReadResult(NamedTuple):
    """What :class:`ReadDocuments` returns (also indexable by tag: ``read["rejected"]``)."""

    documents: beam.PCollection  # record dicts (curation.schema.RECORD_SCHEMA keys)
    rejected: beam.PCollection  # curation.schema.REJECTED_SCHEMA rows, duplicate ids included
    files: beam.PCollection  # one {"uri", "source", "bytes", "records"} per file read

    __getitem__ = output_by_name


def match_input(spec: InputSpec) -> list[tuple[str, int]]:
    """``(uri, size)`` of every file a spec matches, sorted; raises if none match."""
    results = FileSystems.match([spec.pattern])[0].metadata_list
    files = sorted((m.path, m.size_in_bytes) for m in results)
    if not files:
        raise ValueError(f"input {spec.pattern!r} matched no files")
    for uri, _ in files:
        # A glob matches files only, but a local directory named outright matches itself
        # (object stores have no directories).
        if os.path.isdir(uri):
            raise ValueError(f"input {uri!r} is a directory: name its files, e.g. '{FileSystems.join(uri, '*.jsonl')}'")
        file_format(uri)  # fail on an unknown extension before reading anything
    return files


def open_input(uri: str):
    """An input file as a stream of its records' bytes.

    Compressed JSONL is decompressed here, not by Beam: Beam's reader ends a
    truncated stream silently, this one raises where the damage is (see
    :mod:`curation.reading.compression`). Parquet needs a seekable stream, which
    Beam's reader gives for a compressed file too.
    """
    if file_format(uri) == "jsonl":
        return compression.decompressed(FileSystems.open(uri, compression_type=CompressionTypes.UNCOMPRESSED), uri)
    return FileSystems.open(uri)


def iter_inputs(options: ReadOptions) -> Iterable[tuple[str, dict]]:
    """Every input record as ``(Fate.OUTPUT.tag | Fate.REJECTED.tag, row)``, read in this process, without a pipeline.

    For small side inputs such as labelled training data; duplicate ids are not
    resolved here (that needs the whole corpus: :class:`ReadDocuments` does it).
    """
    for spec in options.inputs:
        for uri, _ in match_input(spec):
            with open_input(uri) as stream:
                yield from read_file(stream, uri, spec, options)


def _plan_splits(file: tuple[int, str, int], split_bytes: int) -> list[FileSplit]:
    spec_index, uri, size = file
    return splits.plan_file(spec_index, uri, size, split_bytes, lambda: FileSystems.open(uri))


def _planned_and_located(spread_files: tuple[int, Iterable[tuple[int, str, int]]], split_bytes: int) -> list[FileSplit]:
    """One key's files (see ``_spread``) -> their splits, lines located."""
    _, files = spread_files
    return [_locate_lines(split) for file in files for split in _plan_splits(file, split_bytes)]


def _locate_lines(split: FileSplit) -> FileSplit:
    """Counts a JSONL byte range's lines (the one pass that needs the bytes twice)."""
    if not splits.needs_line_count(split):
        return split
    with FileSystems.open(split.uri) as stream:
        return splits.locate_lines(stream, split)


_ROWS_READ = "rows_read"  # _ReadSplit's count of the rows one split gave, (uri, rows)
_ID_LOCATIONS = "id_locations"  # _ReadSplit's (bucket, [(id, uri, index), ...]) of one split's documents


class _ReadSplit(beam.DoFn):
    """Streams one file split into documents and rejected rows, then says how many rows it
    read and where it read each id (per id bucket, for the duplicate-id check)."""

    def __init__(self, options: ReadOptions):
        self._options = options
        self._documents = Metrics.counter(_COUNTER_NAMESPACE, Fate.OUTPUT.counter)
        self._bytes = Metrics.counter(_COUNTER_NAMESPACE, "bytes")
        self._rejected = {r: Metrics.counter(_COUNTER_NAMESPACE, Fate.REJECTED.counter_name(r.value)) for r in RejectReason}

    def setup(self) -> None:
        self._progress = StageProgress("read")

    def process(self, spread_splits: tuple[int, Iterable[FileSplit]]) -> Iterable:
        for split in spread_splits[1]:  # one per key (see _spread)
            yield from self._read(split)

    def _read(self, split: FileSplit) -> Iterable:
        spec = self._options.inputs[split.spec_index]
        if split.start == 0:
            self._bytes.inc(split.size)
        rows = 0
        ids: dict[int, list[tuple[str, str, int]]] = collections.defaultdict(list)
        with open_input(split.uri) as stream:
            for tag, row in splits.read_split(stream, split, spec, self._options):
                rows += 1
                if tag == Fate.OUTPUT.tag:
                    self._documents.inc()
                    self._progress.add(len(row["text"]))
                    ids[id_bucket(row["id"])].append((row["id"], *location(row)))
                    yield row
                else:
                    self._rejected[RejectReason(row["reason"])].inc()
                    yield beam.pvalue.TaggedOutput(Fate.REJECTED.tag, row)
        yield beam.pvalue.TaggedOutput(_ROWS_READ, (split.uri, rows))
        for bucket, entries in ids.items():
            yield beam.pvalue.TaggedOutput(_ID_LOCATIONS, (bucket, entries))


def _spread(elements: Iterable) -> Iterable[tuple[int, Any]]:
    """Keys 0, 1, 2, ...: the GroupByKey after sends neighbours to different workers (a fusion
    break, Reshuffle's effect), with no randomness and no keying step of its own."""
    return enumerate(elements)


def _number_splits(_, located: Iterable[FileSplit]) -> Iterable[tuple[int, FileSplit]]:
    by_file: dict[str, list[FileSplit]] = collections.defaultdict(list)
    for split in located:
        by_file[split.uri].append(split)
    return _spread(split for file_splits in by_file.values() for split in splits.number_splits(file_splits))


def _describe_files(_, files: list[tuple[int, str, int]], specs, split_rows: Iterable[tuple[str, int]]) -> list[dict]:
    rows = collections.Counter()
    for uri, n in split_rows:
        rows[uri] += n
    return [{"uri": uri, "source": specs[i].source_name(), "bytes": size, "records": rows[uri]} for i, uri, size in files]


def _reused_ids(bucket: tuple[int, Iterable[list[tuple[str, str, int]]]]) -> Iterable[tuple[str, tuple[str, int]]]:
    """One id bucket's entries, from every split -> (id, first location) of each id read more than once."""
    return first_location_of_reused_ids(entry for entries in bucket[1] for entry in entries).items()


class _ResolveDuplicateIds(beam.DoFn):
    """Keeps a record unless its id was read first somewhere else (``first_at``: the reused
    ids' first locations, a side input that is empty for a corpus of unique ids)."""

    def __init__(self):
        self._duplicates = Metrics.counter(_COUNTER_NAMESPACE, Fate.REJECTED.counter_name(RejectReason.DUPLICATE_ID.value))

    def process(self, record: dict, first_at: dict[str, tuple[str, int]]) -> Iterable:
        kept_at = first_at.get(record["id"])
        if kept_at is None or kept_at == location(record):
            yield record
        else:
            self._duplicates.inc()
            yield beam.pvalue.TaggedOutput(Fate.REJECTED.tag, duplicate_id_row(record, kept_at))


class ReadDocuments(beam.PTransform):
    """Reads JSONL (plain or compressed) and Parquet inputs into validated records.

    Paths go through Beam's FileSystems, so ``gs://`` and other registered file
    systems work; globs are expanded when the pipeline is built, and a pattern
    that matches nothing fails then, with the pattern in the message.

    Returns a :class:`ReadResult`:
      ``documents``: record dicts (:data:`curation.schema.RECORD_SCHEMA` keys);
      ``rejected``: rejected rows (:data:`curation.schema.REJECTED_SCHEMA`),
      one per bad input record, duplicate ids included (the first by location wins);
      ``files``: one ``{"uri", "source", "bytes", "records"}`` per file read.
    """

    def __init__(self, options: ReadOptions):
        super().__init__()
        expect_options(self, options, ReadOptions)
        self._options = options

    def expand(self, pbegin: beam.pvalue.PBegin) -> ReadResult:
        files = [
            (i, uri, size) for i, spec in enumerate(self._options.inputs) for uri, size in match_input(spec)
        ]
        uris = [uri for _, uri, _ in files]
        if len(set(uris)) != len(uris):
            repeated = sorted({u for u in uris if uris.count(u) > 1})
            raise ValueError(f"these files are matched by more than one input: {repeated[:5]}")
        once = pbegin | "Once" >> beam.Impulse()
        located = (
            once
            | "ListFiles" >> beam.FlatMap(lambda _: _spread(files))
            | "SpreadFiles" >> beam.GroupByKey()
            | "PlanSplits" >> beam.FlatMap(_planned_and_located, self._options.split_bytes)
        )
        # Split descriptions are small (one per ~split_bytes of input): numbered in one step.
        file_splits = once | "NumberSplits" >> beam.FlatMap(_number_splits, beam.pvalue.AsList(located))
        # Spread splits over workers before the (long) reads: one large file is read by many.
        read = (
            file_splits
            | "SpreadSplits" >> beam.GroupByKey()
            | "ReadSplits" >> beam.ParDo(_ReadSplit(self._options)).with_outputs(
                Fate.REJECTED.tag, _ROWS_READ, _ID_LOCATIONS, main=Fate.OUTPUT.tag)
        )
        # Ids meet their peers without the records: the records, which would cost a full
        # shuffle, wait instead for the (usually empty) map of reused ids.
        reused = read[_ID_LOCATIONS] | "GroupIdsByBucket" >> beam.GroupByKey() | "ReusedIds" >> beam.FlatMap(_reused_ids)
        resolved = read[Fate.OUTPUT.tag] | "ResolveDuplicateIds" >> beam.ParDo(
            _ResolveDuplicateIds(), beam.pvalue.AsDict(reused)).with_outputs(Fate.REJECTED.tag, main=Fate.OUTPUT.tag)
        rejected = (read[Fate.REJECTED.tag], resolved[Fate.REJECTED.tag]) | "AllRejected" >> beam.Flatten()
        # Records as the reader saw them, before anything is set aside: the "records read"
        # side of the accounting invariant (one count per split: a side input of a few numbers).
        file_summaries = once | "DescribeFiles" >> beam.FlatMap(
            _describe_files, files, self._options.inputs, beam.pvalue.AsList(read[_ROWS_READ])
        )
        return ReadResult(documents=resolved[Fate.OUTPUT.tag], rejected=rejected, files=file_summaries)
