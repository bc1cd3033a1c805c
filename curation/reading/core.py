"""Reading and validating input documents, without Beam.

A file is read as a stream: JSONL line by line (with a cap on line length, so one
huge line cannot exhaust memory) and Parquet row group by row group, in batches
whose decoded size the file's metadata bounds (so a compression bomb cannot
either). Every input record becomes either a document (a dict of
:data:`curation.schema.RECORD_SCHEMA` columns) or a rejected row
(:data:`curation.schema.REJECTED_SCHEMA`) with a reason; nothing is dropped, and
a failure costs only the record, or the part of the file, it damages. Blank JSONL
lines are not records and are skipped, but ``source_index`` still counts them so
it is the file's true line number.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import os
import re
from typing import Any, BinaryIO, Iterator, Mapping, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from curation.reading.compression import compression_suffix
from curation.schema import REJECTED_SCHEMA, Fate, Origin, RejectReason, metadata_json, new_record, project_row

DOCUMENT = Fate.OUTPUT.tag  # Beam output tags of ReadDocuments: accepted records
REJECTED = Fate.REJECTED.tag  # and rejected rows

MIB = 1024 * 1024
RAW_EXCERPT_CHARS = 2000  # how much of a bad record's raw input the rejected table keeps
_READ_CHUNK = MIB
_OVERLONG_PREFIX_BYTES = 4 * RAW_EXCERPT_CHARS  # kept of an over-long line: its excerpt and, often, its id
_UTF8_BOM = b"\xef\xbb\xbf"
_PARQUET_BATCH_ROWS = 1024
_PARQUET_BATCH_BYTES = 64 * MIB  # decoded bytes a Parquet batch may hold, by the file's metadata
_NON_FINITE = re.compile(r"NaN|Infinity")  # what json.dumps writes for float nan / inf
_UNKNOWN_ORIGIN = "unknown"  # value-map target meaning "the input does not say"

_SPEC_OPTIONS = re.compile(r"^(?P<pattern>.+?):(?P<opts>[a-z_]+=[^,:=]*(?:,[a-z_]+=[^,:=]*)*)$")
_KNOWN_FORMATS = {".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}


@dataclasses.dataclass(frozen=True)
class InputSpec:
    """One ``--input``: a file pattern plus what to say about every record in it.

    ``source`` names the dataset (default: the file's stem, or the parent folder's
    name for a glob). ``origin`` declares the origin of every record of this input
    (``real`` / ``synthetic``), or ``unknown`` to ignore the origin field here.
    """

    pattern: str
    source: str | None = None
    origin: str | None = None

    def __post_init__(self):
        if not self.pattern:
            raise ValueError("an input pattern is empty")
        if self.origin not in (None, Origin.REAL.value, Origin.SYNTHETIC.value, _UNKNOWN_ORIGIN):
            raise ValueError(
                f"input {self.pattern!r}: origin must be real, synthetic or unknown, got {self.origin!r}"
            )

    @classmethod
    def parse(cls, spec: str) -> "InputSpec":
        """Parses ``PATTERN[:key=value,...]``, e.g. ``gs://b/web/*.jsonl.gz:source=web,origin=unknown``."""
        match = _SPEC_OPTIONS.match(spec)
        if not match:
            return cls(pattern=spec)
        options = dict(item.split("=", 1) for item in match["opts"].split(","))
        unknown = set(options) - {"source", "origin"}
        if unknown:
            raise ValueError(f"input {spec!r}: unknown option(s) {sorted(unknown)}; known: source, origin")
        return cls(pattern=match["pattern"], **options)

    def source_name(self) -> str:
        if self.source:
            return self.source
        head, tail = os.path.split(self.pattern.rstrip("/"))
        if any(ch in tail for ch in "*?["):
            return os.path.basename(head) or "input"
        return strip_extensions(tail)


def is_compressed(uri: str) -> bool:
    """Whether the file name says compressed (then it can only be read from the start)."""
    return bool(compression_suffix(uri.lower()))


def strip_extensions(name: str) -> str:
    """``part-1.jsonl.gz`` -> ``part-1``."""
    name = name[: len(name) - len(compression_suffix(name))]
    stem, ext = os.path.splitext(name)
    return stem if ext in _KNOWN_FORMATS else name


def file_format(uri: str) -> str:
    """``jsonl`` or ``parquet`` from the file name (compression suffixes ignored)."""
    name = uri.lower()
    name = name[: len(name) - len(compression_suffix(name))]
    fmt = _KNOWN_FORMATS.get(os.path.splitext(name)[1])
    if fmt is None:
        raise ValueError(
            f"cannot tell the format of {uri!r}: expected .jsonl/.json/.ndjson (optionally .gz) or .parquet"
        )
    return fmt


def parse_value_map(text: str) -> dict[str, str]:
    """``human=real,ai=synthetic`` -> dict; targets must be real, synthetic or unknown."""
    mapping = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        if "=" not in item:
            raise ValueError(f"origin value map item {item!r} is not of the form value=real|synthetic|unknown")
        key, target = (s.strip() for s in item.split("=", 1))
        mapping[key] = target
    return mapping


@dataclasses.dataclass(frozen=True)
class ReadOptions:
    """How to read inputs and map their fields onto the record schema.

    Attributes:
      inputs: the input specs (see :class:`InputSpec`); strings are parsed.
      text_field: the field holding the document text.
      id_field: the field holding a unique id; records without one get
        ``<source_uri>#<source_index>``. ``None``: always generate.
      origin_field: the field that declares who wrote the text, if any.
      origin_values: maps that field's values to ``real`` / ``synthetic`` /
        ``unknown``; a value not in the map is rejected (``unknown_origin_value``)
        so a typo cannot silently change the real:synthetic accounting.
      max_text_bytes: texts longer than this (UTF-8 bytes) are rejected.
      run_id: stamped on every row the job writes.
      split_bytes: uncompressed files larger than this are read in parts of
        about this size by several workers (see :mod:`curation.reading.splits`).
    """

    inputs: tuple[InputSpec, ...]
    text_field: str = "text"
    id_field: str | None = "id"
    origin_field: str | None = None
    origin_values: Mapping[str, str] = dataclasses.field(
        default_factory=lambda: {"real": "real", "synthetic": "synthetic"}
    )
    max_text_bytes: int = MIB
    run_id: str = "unnamed"  # jobs set a real one (see provenance.manifest.derive_run_id)
    split_bytes: int = 64 * MIB

    def __post_init__(self):
        inputs = tuple(InputSpec.parse(i) if isinstance(i, str) else i for i in self.inputs)
        if not inputs:
            raise ValueError("ReadOptions needs at least one input")
        object.__setattr__(self, "inputs", inputs)
        if not self.text_field:
            raise ValueError("text_field must name a field")
        if self.max_text_bytes <= 0:
            raise ValueError(f"max_text_bytes must be positive, got {self.max_text_bytes}")
        bad = {v for v in self.origin_values.values() if v not in ("real", "synthetic", _UNKNOWN_ORIGIN)}
        if bad:
            raise ValueError(f"origin_values may map only to real, synthetic or unknown, not {sorted(bad)}")
        object.__setattr__(self, "origin_values", dict(self.origin_values))
        if not self.run_id:
            raise ValueError("run_id must not be empty")
        if self.split_bytes < 1:
            raise ValueError(f"split_bytes must be positive, got {self.split_bytes}")

    def max_line_bytes(self) -> int:
        # JSON escaping can at most ~6x a text (\uXXXX); the rest of the line is metadata.
        return 6 * self.max_text_bytes + MIB


class _RecordError(Exception):
    def __init__(self, reason: RejectReason, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def rejected_row(
    reason: RejectReason, detail: str, source: str, uri: str, index: int, raw: Any, run_id: str, record_id=None
) -> dict:
    """A row of the rejected table, with a safely decoded, truncated copy of the raw input."""
    if isinstance(raw, bytes):
        excerpt = raw[: RAW_EXCERPT_CHARS * 4].decode("utf-8", "replace")
    elif isinstance(raw, str):
        excerpt = raw
    else:
        excerpt = json.dumps(raw, default=str, ensure_ascii=True)
    # Lone surrogates would make the row unwritable; replace them.
    excerpt = excerpt[:RAW_EXCERPT_CHARS].encode("utf-8", "replace").decode("utf-8")
    return project_row(REJECTED_SCHEMA, id=record_id, reason=reason.value, detail=detail, source=source,
                       source_uri=uri, source_index=index, raw=excerpt, run_id=run_id)


def _require_encodable(value: str, what: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as err:
        raise _RecordError(RejectReason.INVALID_UNICODE, f"{what} holds a lone surrogate at {err.start}") from None


def _record_id(fields: Mapping[str, Any], options: ReadOptions, uri: str, index: int) -> str:
    value = fields.get(options.id_field) if options.id_field else None
    if value is None:
        return f"{uri}#{index}"
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise _RecordError(RejectReason.INVALID_ID, f"id field {options.id_field!r} is a {type(value).__name__}")
    value = str(value)
    if not value.strip():
        raise _RecordError(RejectReason.INVALID_ID, f"id field {options.id_field!r} is empty")
    _require_encodable(value, "id")
    return value


def _declared_origin(fields: Mapping[str, Any], spec: InputSpec, options: ReadOptions) -> str | None:
    if spec.origin is not None:
        return None if spec.origin == _UNKNOWN_ORIGIN else spec.origin
    if not options.origin_field or fields.get(options.origin_field) is None:
        return None
    value = str(fields[options.origin_field])
    if value not in options.origin_values:
        raise _RecordError(
            RejectReason.UNKNOWN_ORIGIN_VALUE,
            f"{options.origin_field}={value!r} is not in the origin value map {sorted(options.origin_values)}",
        )
    target = options.origin_values[value]
    return None if target == _UNKNOWN_ORIGIN else target


def _document_text(fields: Mapping[str, Any], options: ReadOptions) -> str:
    if options.text_field not in fields or fields[options.text_field] is None:
        raise _RecordError(RejectReason.MISSING_TEXT, f"no {options.text_field!r} field")
    text = fields[options.text_field]
    if not isinstance(text, str):
        raise _RecordError(RejectReason.NON_STRING_TEXT, f"{options.text_field!r} is a {type(text).__name__}")
    if "\x00" in text:
        raise _RecordError(RejectReason.NUL_BYTE, f"{options.text_field!r} contains a NUL character")
    _require_encodable(text, options.text_field)
    if not text.strip():
        raise _RecordError(RejectReason.EMPTY_TEXT, f"{options.text_field!r} is empty or whitespace")
    size = len(text.encode("utf-8"))
    if size > options.max_text_bytes:
        raise _RecordError(RejectReason.TOO_LARGE, f"text is {size} bytes, over the limit of {options.max_text_bytes}")
    return text


def _finite(value: Any) -> Any:
    """``value`` with every NaN / infinite float replaced by None: metadata is strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def build_document(fields: Mapping[str, Any], spec: InputSpec, uri: str, index: int, options: ReadOptions) -> dict:
    """Maps one input object onto the record schema; raises _RecordError when invalid."""
    record_id = _record_id(fields, options, uri, index)
    text = _document_text(fields, options)
    declared = _declared_origin(fields, spec, options)
    consumed = {options.text_field, options.id_field, options.origin_field}
    passthrough = {k: v for k, v in fields.items() if k not in consumed}
    metadata = metadata_json(passthrough)
    if _NON_FINITE.search(metadata):  # cheap test; the walk runs only when it may be needed
        metadata = metadata_json(_finite(passthrough))
    _require_encodable(metadata, "a metadata field")
    return new_record(id=record_id, text=text, source=spec.source_name(), source_uri=uri, source_index=index,
                      run_id=options.run_id, declared_origin=declared, metadata=metadata)


def _rejected_id(fields: Any, options: ReadOptions) -> str | None:
    """The id a rejected row keeps: the record's id field when it is a usable one (safely encoded)."""
    value = fields.get(options.id_field) if isinstance(fields, dict) and options.id_field else None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    return str(value)[:RAW_EXCERPT_CHARS].encode("utf-8", "replace").decode("utf-8")


def _classify(fields: Any, spec: InputSpec, uri: str, index: int, options: ReadOptions, raw: Any):
    try:
        if not isinstance(fields, dict):
            raise _RecordError(RejectReason.NOT_AN_OBJECT, f"expected a JSON object, got {type(fields).__name__}")
        return DOCUMENT, build_document(fields, spec, uri, index, options)
    except _RecordError as err:
        record_id = None if err.reason is RejectReason.INVALID_ID else _rejected_id(fields, options)
        return REJECTED, rejected_row(err.reason, err.detail, spec.source_name(), uri, index, raw, options.run_id, record_id)
    except (ValueError, RecursionError, OverflowError, TypeError) as err:
        # A value Python holds but cannot handle (re-encoding metadata nested near the
        # recursion limit, ...): this record is rejected, the file's other records stand.
        return REJECTED, rejected_row(
            RejectReason.INVALID_VALUE, f"{type(err).__name__}: {str(err)[:300]}", spec.source_name(), uri, index,
            raw, options.run_id, _rejected_id(fields, options),
        )


def iter_lines(stream: BinaryIO, max_line_bytes: int) -> Iterator[tuple[int, bytes, int, bool]]:
    """Yields ``(line_index, data, length, complete)``.

    ``data`` is the line (``complete``), or, for a line longer than the cap, only
    its first bytes (``_OVERLONG_PREFIX_BYTES``), so that its rejected row keeps an
    excerpt and, often, its id. Reads fixed-size chunks, so memory stays bounded by
    the cap whatever the input. The line excludes its newline (and a trailing ``\\r``).
    """
    index = 0
    pending = bytearray()
    prefix = b""  # the start of the current line, once it is over the cap
    overflow = 0  # bytes of the current line dropped for being over the cap
    while True:
        chunk = stream.read(_READ_CHUNK)
        if not chunk:
            break
        start = 0
        while True:
            newline = chunk.find(b"\n", start)
            piece = chunk[start:] if newline < 0 else chunk[start:newline]
            if overflow or len(pending) + len(piece) > max_line_bytes:
                if not overflow:
                    prefix = bytes(pending[:_OVERLONG_PREFIX_BYTES])
                    prefix += piece[: _OVERLONG_PREFIX_BYTES - len(prefix)]
                overflow += len(pending) + len(piece)
                pending.clear()
            else:
                pending += piece
            if newline < 0:
                break
            yield _finish_line(index, pending, overflow, prefix)
            index += 1
            pending.clear()
            overflow = 0
            start = newline + 1
    if pending or overflow:
        yield _finish_line(index, pending, overflow, prefix)


def _finish_line(index: int, pending: bytearray, overflow: int, prefix: bytes) -> tuple[int, bytes, int, bool]:
    if overflow:
        return index, prefix, overflow, False
    line = bytes(pending)
    if line.endswith(b"\r"):
        line = line[:-1]
    return index, line, len(line), True


_JSON_SPACE = re.compile(r"[ \t\n\r]*")


def _id_from_prefix(prefix: bytes, options: ReadOptions) -> str | None:
    """The id of an over-long JSON object line of which only ``prefix`` is kept.

    Walks the object's top-level members in order and stops at the first value the
    prefix cuts off (usually the huge text), so it finds the id when the id comes
    first and never mistakes a nested ``"id"`` for it.
    """
    if not options.id_field:
        return None
    text = prefix.decode("utf-8", "ignore")  # the cut may split a character
    decoder, space = json.JSONDecoder(), _JSON_SPACE
    position = space.match(text).end()
    if not text.startswith("{", position):
        return None
    position += 1
    try:
        while True:
            position = space.match(text, position).end()
            key, position = decoder.raw_decode(text, position)
            position = space.match(text, position).end()
            if not isinstance(key, str) or not text.startswith(":", position):
                return None
            position = space.match(text, position + 1).end()
            value, position = decoder.raw_decode(text, position)
            if key == options.id_field:
                return _rejected_id({key: value}, options)
            position = space.match(text, position).end()
            if not text.startswith(",", position):
                return None
            position += 1
    except (ValueError, RecursionError):  # the value the prefix cuts off, or not JSON at all
        return None


def _line_end_hint(data: bytes) -> str:
    """Why a line may not parse when it holds carriage returns that end nothing."""
    returns = data.count(b"\r")
    if not returns:
        return ""
    return (
        f"; the line holds {returns} carriage return(s) (\\r): if the file ends its lines with \\r alone "
        "(classic Mac), convert them to \\n (JSONL lines end in \\n or \\r\\n; a lone \\r is JSON whitespace)"
    )


def read_jsonl(
    stream: BinaryIO, uri: str, spec: InputSpec, options: ReadOptions, first_index: int = 0, lines: int | None = None
) -> Iterator[tuple[str, dict]]:
    """Yields ``(DOCUMENT, record)`` or ``(REJECTED, row)`` for each JSONL line.

    Reads from the stream's position: ``lines`` lines (None: to the end), the
    first being line ``first_index`` of the file. A UTF-8 byte-order mark at the
    file's start is not part of its first record.
    """
    for offset, line, length, complete in itertools.islice(iter_lines(stream, options.max_line_bytes()), lines):
        index = first_index + offset
        if index == 0 and line.startswith(_UTF8_BOM):
            line = line[len(_UTF8_BOM):]
        if not complete:
            yield REJECTED, rejected_row(
                RejectReason.TOO_LARGE,
                f"line is {length} bytes, over the reader's cap of {options.max_line_bytes()}{_line_end_hint(line)}",
                spec.source_name(), uri, index, line, options.run_id, _id_from_prefix(line, options),
            )
            continue
        if not line.strip():
            continue
        try:
            decoded = line.decode("utf-8")
        except UnicodeDecodeError as err:
            yield REJECTED, rejected_row(
                RejectReason.INVALID_UTF8, f"byte {err.start} is not UTF-8", spec.source_name(), uri, index, line,
                options.run_id,
            )
            continue
        try:
            fields = json.loads(decoded)
        except json.JSONDecodeError as err:
            yield REJECTED, rejected_row(
                RejectReason.INVALID_JSON, f"{str(err)[:200]}{_line_end_hint(line)}", spec.source_name(), uri, index,
                line, options.run_id,
            )
            continue
        except (ValueError, RecursionError) as err:  # an integer over 4,300 digits; nesting too deep
            what = "nested too deeply" if isinstance(err, RecursionError) else "a value Python cannot hold"
            yield REJECTED, rejected_row(
                RejectReason.INVALID_VALUE, f"valid JSON, but {what}: {str(err)[:200]}", spec.source_name(), uri,
                index, line, options.run_id,
            )
            continue
        yield _classify(fields, spec, uri, index, options, line)


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


def _parquet_batch_rows(stream: BinaryIO, group: pq.RowGroupMetaData) -> int:
    """Rows per batch such that a batch of this row group decodes to at most about
    ``_PARQUET_BATCH_BYTES``: the footer's uncompressed bytes per row, plus, for each
    string column, its dictionary page once per value (a dictionary value may repeat
    in every row: 1.5 KB of file can hold 256 copies of an 8 MiB text)."""
    rows = max(group.num_rows, 1)
    per_row = 0.0
    for c in range(group.num_columns):
        column = group.column(c)
        per_row += column.total_uncompressed_size / rows
        if column.physical_type == "BYTE_ARRAY":  # fixed-width values cannot grow
            per_row += max(1.0, column.num_values / rows) * _dictionary_page_bytes(stream, column)
    return int(min(_PARQUET_BATCH_ROWS, max(1, _PARQUET_BATCH_BYTES // max(per_row, 1.0))))


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
    """Yields ``(DOCUMENT, record)`` or ``(REJECTED, row)`` for each Parquet row, batch by batch.

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
        batch_rows = _parquet_batch_rows(stream, group_meta)
        try:
            for batch in parquet.iter_batches(batch_size=batch_rows, row_groups=[group]):
                for fields, failure in _parquet_rows(batch):
                    if failure is None:
                        yield _classify(fields, spec, uri, index, options, fields)
                    else:
                        yield REJECTED, _bad_cell_row(fields, failure, spec, uri, index, options)
                    index += 1
        except (pa.ArrowException, OSError) as err:
            yield REJECTED, rejected_row(
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
    record_id = _rejected_id(cells, options)
    return rejected_row(reason, detail, spec.source_name(), uri, index, cells, options.run_id, record_id)


def read_file(
    stream: BinaryIO, uri: str, spec: InputSpec, options: ReadOptions, **part: Any
) -> Iterator[tuple[str, dict]]:
    """Reads one (already decompressed) file, or the part of it that ``part`` names
    (``read_jsonl`` / ``read_parquet`` keywords); a failure of the file itself
    becomes one rejected row.

    Records yielded before the failure stand; the rejected row sits at the index
    where reading stopped, so the accounting still says where the rest went.
    """
    reader = read_parquet if file_format(uri) == "parquet" else read_jsonl
    last_index = part.get("first_index", 0) - 1
    try:
        for tag, row in reader(stream, uri, spec, options, **part):
            last_index = row["source_index"]
            yield tag, row
    except Exception as err:  # noqa: BLE001
        # Corrupt gzip (BadGzipFile, EOFError), bad Parquet (ArrowInvalid), a broken
        # stream: whatever the file did, the job goes on and says where it stopped.
        yield REJECTED, rejected_row(
            RejectReason.UNREADABLE_FILE,
            f"{type(err).__name__}: {str(err)[:300]}",
            spec.source_name(), uri, last_index + 1, b"", options.run_id,
        )


def resolve_duplicate_ids(records: list[dict]) -> tuple[dict, list[dict]]:
    """Of records sharing one id, keeps the first by input location; rejects the rest.

    Returns ``(kept_record, rejected_rows)``. Location order makes the choice the
    same on every run and worker count.
    """
    ordered = sorted(records, key=lambda r: (r["source_uri"], r["source_index"]))
    kept = ordered[0]
    rejected = [
        rejected_row(
            RejectReason.DUPLICATE_ID,
            f"id already used at {kept['source_uri']}:{kept['source_index']}",
            r["source"], r["source_uri"], r["source_index"],
            json.dumps({"id": r["id"], "text": r["text"][:RAW_EXCERPT_CHARS]}, ensure_ascii=False),
            r["run_id"], record_id=r["id"],
        )
        for r in ordered[1:]
    ]
    return kept, rejected
