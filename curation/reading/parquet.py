"""Reading Parquet, row group by row group.

Rows are read in batches whose decoded size the file's metadata bounds, so a
compression bomb cannot exhaust memory; a bad row or row group costs only itself.
"""

from __future__ import annotations

from typing import BinaryIO, Iterator, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from curation.reading.options import MIB, ReadOptions
from curation.reading.records import RAW_EXCERPT_CHARS, classify, rejected_id, rejected_row
from curation.reading.specs import InputSpec
from curation.schema import Fate, RejectReason

_PARQUET_BATCH_ROWS = 1024
PARQUET_BATCH_BYTES = 64 * MIB  # decoded bytes a Parquet batch may hold, by the file's metadata
_THRIFT_INTEGER_TYPES = (4, 5, 6)  # i16, i32, i64 in Thrift's compact protocol
_DICTIONARY_PAGE = 2  # parquet.thrift PageType.DICTIONARY_PAGE


def _varint(data: bytes, position: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return (value >> 1) ^ -(value & 1), position  # zigzag


def _dictionary_page_bytes(stream: BinaryIO, column: pq.ColumnChunkMetaData) -> int:
    """Uncompressed size of a column chunk's dictionary page (0: none), from its page header.

    No value a dictionary page encodes is larger than the page, so this bounds what
    one row can decode to however often rows repeat the value, which the chunk's
    sizes in the footer do not. The header's first fields (Thrift compact
    protocol) are the page type and its uncompressed size. A header that cannot
    be read counts as the whole chunk's uncompressed size, a bound too.
    """
    offset = column.dictionary_page_offset if column.has_dictionary_page else column.data_page_offset
    try:
        stream.seek(offset)
        header = stream.read(32)
        fields, position, field = {}, 0, 0
        while len(fields) < 2:
            byte = header[position]
            position += 1
            if not byte or byte & 0x0F not in _THRIFT_INTEGER_TYPES:
                raise ValueError("unexpected page header")
            if byte >> 4:
                field += byte >> 4
            else:
                field, position = _varint(header, position)
            fields[field], position = _varint(header, position)
        page_type, uncompressed = fields[1], fields[2]
    except (OSError, ValueError, IndexError, KeyError):
        return column.total_uncompressed_size
    return uncompressed if page_type == _DICTIONARY_PAGE else 0


def parquet_batch_rows(stream: BinaryIO, group: pq.RowGroupMetaData) -> int:
    """Rows per batch such that a batch of this row group decodes to at most about
    ``PARQUET_BATCH_BYTES``: the footer's uncompressed bytes per row, plus, for each
    string column, its dictionary page once per value (a dictionary value may repeat
    in every row: 1.5 KB of file can hold 256 copies of an 8 MiB text)."""
    rows = max(group.num_rows, 1)
    per_row = 0.0
    for c in range(group.num_columns):
        column = group.column(c)
        per_row += column.total_uncompressed_size / rows
        if column.physical_type == "BYTE_ARRAY":  # fixed-width values cannot grow
            per_row += max(1.0, column.num_values / rows) * _dictionary_page_bytes(stream, column)
    return int(min(_PARQUET_BATCH_ROWS, max(1, PARQUET_BATCH_BYTES // max(per_row, 1.0))))


def _parquet_rows(batch: pa.RecordBatch) -> Iterator[tuple[dict, tuple[str, Exception] | None]]:
    """``(fields, None)`` per row, or ``(cells, (column, error))`` for a row with a cell
    Python cannot hold (invalid UTF-8 in a string column, a timestamp past year 9999),
    ``cells`` then holding a safe copy of the row. A bad row costs only itself: the
    batch is converted row by row around it."""
    try:
        rows = batch.to_pylist()
    except (ValueError, OverflowError):  # UnicodeDecodeError is a ValueError
        rows = None
    if rows is not None:
        yield from ((fields, None) for fields in rows)
        return
    for i in range(batch.num_rows):
        row = batch.slice(i, 1)
        try:
            [fields] = row.to_pylist()
        except (ValueError, OverflowError):
            yield _safe_cells(row)
        else:
            yield fields, None


def _safe_cells(row: pa.RecordBatch) -> tuple[dict, tuple[str, Exception]]:
    cells, failure = {}, None
    for name, column in zip(row.schema.names, row.columns):
        try:
            cells[name] = column[0].as_py()
        except (ValueError, OverflowError) as err:
            failure = failure or (name, err)
            cells[name] = _cell_excerpt(column)
    return cells, failure


def _cell_excerpt(column: pa.Array) -> str:
    """Text for the raw excerpt of a one-row column Python cannot convert."""
    try:  # strings (plain or dictionary-encoded) as their bytes
        return column.cast(pa.binary())[0].as_py()[: 4 * RAW_EXCERPT_CHARS].decode("utf-8", "replace")
    except pa.ArrowException:
        pass
    try:  # timestamps and other scalars as Arrow prints them
        return column.cast(pa.string(), safe=False)[0].as_py()[:RAW_EXCERPT_CHARS]
    except (pa.ArrowException, ValueError):
        return f"<a {column.type} value Python cannot hold>"


def read_parquet(
    stream: BinaryIO, uri: str, spec: InputSpec, options: ReadOptions, first_index: int = 0,
    row_groups: Sequence[int] | None = None,
) -> Iterator[tuple[str, dict]]:
    """Yields ``(Fate.OUTPUT.tag, record)`` or ``(Fate.REJECTED.tag, row)`` for each Parquet row, batch by batch.

    ``row_groups``: only these (None: all), the first row being row ``first_index`` of
    the file. A row group that fails to decode becomes one ``unreadable_file`` row
    where reading it stopped (its rows before stand); the next row group is read.
    """
    parquet = pq.ParquetFile(stream)
    metadata = parquet.metadata
    index = first_index
    for group in range(metadata.num_row_groups) if row_groups is None else row_groups:
        group_meta = metadata.row_group(group)
        group_end = index + group_meta.num_rows
        batch_rows = parquet_batch_rows(stream, group_meta)
        try:
            for batch in parquet.iter_batches(batch_size=batch_rows, row_groups=[group]):
                for fields, failure in _parquet_rows(batch):
                    if failure is None:
                        yield classify(fields, spec, uri, index, options, fields)
                    else:
                        yield Fate.REJECTED.tag, _bad_cell_row(fields, failure, spec, uri, index, options)
                    index += 1
        except (pa.ArrowException, OSError) as err:
            yield Fate.REJECTED.tag, rejected_row(
                RejectReason.UNREADABLE_FILE,
                f"row group {group} failed at row {index} ({group_end - index} of its rows unread): "
                f"{type(err).__name__}: {str(err)[:300]}",
                spec.source_name(), uri, index, b"", options.run_id,
            )
        index = group_end


def _bad_cell_row(cells: dict, failure: tuple[str, Exception], spec: InputSpec, uri: str, index: int,
                  options: ReadOptions) -> dict:
    column, err = failure
    if isinstance(err, UnicodeDecodeError):
        reason, detail = RejectReason.INVALID_UTF8, f"column {column!r}: byte {err.start} is not UTF-8"
    else:
        reason, detail = RejectReason.INVALID_VALUE, f"column {column!r}: {type(err).__name__}: {str(err)[:200]}"
    record_id = rejected_id(cells, options)
    return rejected_row(reason, detail, spec.source_name(), uri, index, cells, options.run_id, record_id)
