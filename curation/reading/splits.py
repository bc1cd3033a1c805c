"""Cutting large input files into splits, so that several workers read one file.

An uncompressed JSONL file is cut into byte ranges; a range owns the lines that
start inside it. A first pass counts each range's line starts (``bytes.count``,
far cheaper than parsing JSON), so that every line keeps its true index in the
file (``source_index``, and the default id ``<uri>#<index>``) whichever worker
reads it. A Parquet file is cut between row groups; its footer gives each
group's rows. A compressed file cannot be entered mid-stream: it is one split.

Pure: the Beam wrapper (:class:`~curation.reading.transforms.ReadDocuments`)
opens the files and passes streams in.
"""

from __future__ import annotations

import dataclasses
from typing import Any, BinaryIO, Callable, Iterable, Iterator, Sequence

import pyarrow.parquet as pq

from curation.reading.files import read_file
from curation.reading.options import MIB, ReadOptions
from curation.reading.specs import InputSpec, file_format, is_compressed

_SCAN_CHUNK = MIB


@dataclasses.dataclass(frozen=True)
class FileSplit:
    """A part of one input file that one worker reads.

    JSONL: bytes ``[start, end)``; Parquet: row groups ``[start, end)``.
    ``parts``: how many splits the file has (1: this one is the whole file,
    read to its end). ``records``: the lines (JSONL, blank ones included) or rows
    (Parquet) the split holds, once known. ``first_line_start``: JSONL only, the
    byte offset of the split's first line. ``first_index``: the file index of
    that first record, once numbered.
    """

    spec_index: int
    uri: str
    size: int
    start: int
    end: int
    parts: int = 1
    records: int | None = None
    first_line_start: int = 0
    first_index: int = 0


def plan_jsonl(spec_index: int, uri: str, size: int, split_bytes: int) -> list[FileSplit]:
    """Byte ranges of ``split_bytes`` (the last one shorter); one whole-file split when
    the file is compressed or no larger than ``split_bytes``."""
    if is_compressed(uri) or size <= split_bytes:
        return [FileSplit(spec_index, uri, size, 0, size)]
    starts = range(0, size, split_bytes)
    return [FileSplit(spec_index, uri, size, start, min(start + split_bytes, size), len(starts)) for start in starts]


def plan_parquet(
    spec_index: int, uri: str, size: int, row_groups: Sequence[tuple[int, int]], split_bytes: int
) -> list[FileSplit]:
    """Runs of consecutive row groups of at least ``split_bytes`` each (the last may be
    smaller); ``row_groups`` holds each group's ``(rows, bytes)`` from the footer."""
    runs: list[tuple[int, int, int]] = []  # (first group, end group, rows)
    start, rows, nbytes = 0, 0, 0
    for group, (group_rows, group_bytes) in enumerate(row_groups):
        rows, nbytes = rows + group_rows, nbytes + group_bytes
        if nbytes >= split_bytes or group == len(row_groups) - 1:
            runs.append((start, group + 1, rows))
            start, rows, nbytes = group + 1, 0, 0
    if len(runs) < 2:
        return [FileSplit(spec_index, uri, size, 0, len(row_groups))]
    return [FileSplit(spec_index, uri, size, first, end, len(runs), rows) for first, end, rows in runs]


def plan_file(
    spec_index: int, uri: str, size: int, split_bytes: int, open_file: Callable[[], Any]
) -> list[FileSplit]:
    """The splits of one file. ``open_file`` opens it (for a Parquet footer); a file
    whose footer cannot be read is one split, so that reading it reports the damage."""
    if file_format(uri) == "jsonl":
        return plan_jsonl(spec_index, uri, size, split_bytes)
    whole = [FileSplit(spec_index, uri, size, 0, size)]
    if is_compressed(uri) or size <= split_bytes:
        return whole
    try:
        with open_file() as stream:
            row_groups = parquet_row_groups(stream)
    except Exception:  # noqa: BLE001 - whatever is wrong, the whole-file read rejects it with the cause
        return whole
    return plan_parquet(spec_index, uri, size, row_groups, split_bytes)


def parquet_row_groups(stream: BinaryIO) -> list[tuple[int, int]]:
    """``(rows, bytes)`` of each row group, from the Parquet footer."""
    metadata = pq.ParquetFile(stream).metadata
    return [(metadata.row_group(i).num_rows, metadata.row_group(i).total_byte_size) for i in range(metadata.num_row_groups)]


def needs_line_count(split: FileSplit) -> bool:
    """A JSONL byte range whose lines are not yet counted (see :func:`locate_lines`)."""
    return split.parts > 1 and split.records is None


def locate_lines(stream: BinaryIO, split: FileSplit) -> FileSplit:
    """Counts the lines that start in a JSONL byte range and finds where the first begins.

    A line starts at byte 0 and after every newline that is not the file's last
    byte, so the starts in ``[start, end)`` are (byte 0 if ``start`` is 0) plus
    the newlines in ``[max(start, 1) - 1, min(end, size) - 1)``.
    """
    if split.start == 0:
        records, first_line_start = (1 if split.size else 0), 0
    else:
        records, first_line_start = 0, None
    scan_from = max(split.start, 1) - 1
    scan_to = min(split.end, split.size) - 1
    stream.seek(scan_from)
    position = scan_from
    while position < scan_to:
        chunk = stream.read(min(_SCAN_CHUNK, scan_to - position))
        if not chunk:
            raise IOError(f"{split.uri} ended at byte {position}, before its listed size {split.size}")
        if first_line_start is None:
            newline = chunk.find(b"\n")
            if newline >= 0:
                first_line_start = position + newline + 1
        records += chunk.count(b"\n")
        position += len(chunk)
    return dataclasses.replace(split, records=records, first_line_start=first_line_start or 0)


def number_splits(splits: Iterable[FileSplit]) -> list[FileSplit]:
    """One file's splits, all of them, each given the file index of its first record."""
    ordered = sorted(splits, key=lambda s: s.start)
    if len(ordered) != ordered[0].parts or (len(ordered) > 1 and any(s.records is None for s in ordered)):
        raise ValueError(f"{ordered[0].uri}: expected {ordered[0].parts} counted splits, got {len(ordered)}")
    numbered, next_index = [], 0
    for split in ordered:
        numbered.append(dataclasses.replace(split, first_index=next_index))
        next_index += split.records or 0
    return numbered


def read_split(stream: BinaryIO, split: FileSplit, spec: InputSpec, options: ReadOptions) -> Iterator[tuple[str, dict]]:
    """The records of one split (see :func:`curation.reading.files.read_file`)."""
    if split.parts == 1:
        yield from read_file(stream, split.uri, spec, options)
    elif file_format(split.uri) == "parquet":
        yield from read_file(
            stream, split.uri, spec, options, first_index=split.first_index, row_groups=list(range(split.start, split.end))
        )
    elif split.records:
        stream.seek(split.first_line_start)
        yield from read_file(stream, split.uri, spec, options, first_index=split.first_index, lines=split.records)
