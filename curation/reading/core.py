"""Reading and validating input documents, without Beam.

A file is read as a stream: JSONL line by line (with a cap on line length, so one
huge line cannot exhaust memory) and Parquet row group by row group. Every input
record becomes either a document (a dict of :data:`curation.schema.RECORD_SCHEMA`
columns) or a rejected row (:data:`curation.schema.REJECTED_SCHEMA`) with a
reason; nothing is dropped. Blank JSONL lines are not records and are skipped,
but ``source_index`` still counts them so it is the file's true line number.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import re
from typing import Any, BinaryIO, Iterator, Mapping, Sequence

import pyarrow.parquet as pq

from curation.hashing import content_hash
from curation.schema import Origin, OriginBasis, RejectReason, metadata_json

DOCUMENT = "documents"  # Beam output tags of ReadDocuments: accepted records
REJECTED = "rejected"  # and rejected rows

MIB = 1024 * 1024
RAW_EXCERPT_CHARS = 2000  # how much of a bad record's raw input the rejected table keeps
_READ_CHUNK = MIB
_PARQUET_BATCH_ROWS = 1024
_UNKNOWN_ORIGIN = "unknown"  # value-map target meaning "the input does not say"

_SPEC_OPTIONS = re.compile(r"^(?P<pattern>.+?):(?P<opts>[a-z_]+=[^,:=]*(?:,[a-z_]+=[^,:=]*)*)$")
_KNOWN_FORMATS = {".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}
_COMPRESSION_SUFFIXES = (".gz", ".gzip", ".bz2", ".zst", ".deflate")


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


def _compression_suffix(name: str) -> str:
    return next((suffix for suffix in _COMPRESSION_SUFFIXES if name.endswith(suffix)), "")


def is_compressed(uri: str) -> bool:
    """Whether the file name says compressed (then it can only be read from the start)."""
    return bool(_compression_suffix(uri.lower()))


def strip_extensions(name: str) -> str:
    """``part-1.jsonl.gz`` -> ``part-1``."""
    name = name[: len(name) - len(_compression_suffix(name))]
    stem, ext = os.path.splitext(name)
    return stem if ext in _KNOWN_FORMATS else name


def file_format(uri: str) -> str:
    """``jsonl`` or ``parquet`` from the file name (compression suffixes ignored)."""
    name = uri.lower()
    name = name[: len(name) - len(_compression_suffix(name))]
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
    return {
        "id": record_id,
        "reason": reason.value,
        "detail": detail,
        "source": source,
        "source_uri": uri,
        "source_index": index,
        "raw": excerpt,
        "run_id": run_id,
    }


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


def build_document(fields: Mapping[str, Any], spec: InputSpec, uri: str, index: int, options: ReadOptions) -> dict:
    """Maps one input object onto the record schema; raises _RecordError when invalid."""
    record_id = _record_id(fields, options, uri, index)
    text = _document_text(fields, options)
    declared = _declared_origin(fields, spec, options)
    consumed = {options.text_field, options.id_field, options.origin_field}
    passthrough = {k: v for k, v in fields.items() if k not in consumed}
    metadata = metadata_json(passthrough)
    _require_encodable(metadata, "a metadata field")
    return {
        "id": record_id,
        "text": text,
        "source": spec.source_name(),
        "source_uri": uri,
        "source_index": index,
        "declared_origin": declared,
        "synthetic_score": None,
        "detector_id": None,
        "origin": declared,
        "origin_basis": (OriginBasis.DECLARED if declared else OriginBasis.NONE).value,
        "content_hash": content_hash(text),
        "cluster_id": None,
        "cluster_size": 1,
        "stratum": None,
        "metadata": metadata,
        "run_id": options.run_id,
        "inclusion_probability": None,
    }


def _classify(fields: Any, spec: InputSpec, uri: str, index: int, options: ReadOptions, raw: Any):
    try:
        if not isinstance(fields, dict):
            raise _RecordError(RejectReason.NOT_AN_OBJECT, f"expected a JSON object, got {type(fields).__name__}")
        return DOCUMENT, build_document(fields, spec, uri, index, options)
    except _RecordError as err:
        record_id = None
        if isinstance(fields, dict) and err.reason is not RejectReason.INVALID_ID:
            value = fields.get(options.id_field) if options.id_field else None
            record_id = str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else None
            if record_id is not None:
                record_id = record_id.encode("utf-8", "replace").decode("utf-8")
        return REJECTED, rejected_row(err.reason, err.detail, spec.source_name(), uri, index, raw, options.run_id, record_id)


def iter_lines(stream: BinaryIO, max_line_bytes: int) -> Iterator[tuple[int, bytes | None, int]]:
    """Yields ``(line_index, line, length)``; ``line`` is None when longer than the cap.

    Reads fixed-size chunks, so memory stays bounded by the cap whatever the input.
    The line excludes its newline (and a trailing ``\\r``).
    """
    index = 0
    pending = bytearray()
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
                overflow += len(pending) + len(piece)
                pending.clear()
            else:
                pending += piece
            if newline < 0:
                break
            yield _finish_line(index, pending, overflow)
            index += 1
            pending.clear()
            overflow = 0
            start = newline + 1
    if pending or overflow:
        yield _finish_line(index, pending, overflow)


def _finish_line(index: int, pending: bytearray, overflow: int) -> tuple[int, bytes | None, int]:
    if overflow:
        return index, None, overflow
    line = bytes(pending)
    if line.endswith(b"\r"):
        line = line[:-1]
    return index, line, len(line)


def read_jsonl(
    stream: BinaryIO, uri: str, spec: InputSpec, options: ReadOptions, first_index: int = 0, lines: int | None = None
) -> Iterator[tuple[str, dict]]:
    """Yields ``(DOCUMENT, record)`` or ``(REJECTED, row)`` for each JSONL line.

    Reads from the stream's position: ``lines`` lines (None: to the end), the
    first being line ``first_index`` of the file.
    """
    for offset, line, length in itertools.islice(iter_lines(stream, options.max_line_bytes()), lines):
        index = first_index + offset
        if line is None:
            yield REJECTED, rejected_row(
                RejectReason.TOO_LARGE,
                f"line is {length} bytes, over the reader's cap of {options.max_line_bytes()}",
                spec.source_name(), uri, index, b"", options.run_id,
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
        except (json.JSONDecodeError, RecursionError) as err:
            yield REJECTED, rejected_row(
                RejectReason.INVALID_JSON, str(err)[:200], spec.source_name(), uri, index, line, options.run_id
            )
            continue
        yield _classify(fields, spec, uri, index, options, line)


def read_parquet(
    stream: BinaryIO, uri: str, spec: InputSpec, options: ReadOptions, first_index: int = 0,
    row_groups: Sequence[int] | None = None,
) -> Iterator[tuple[str, dict]]:
    """Yields ``(DOCUMENT, record)`` or ``(REJECTED, row)`` for each Parquet row, batch by batch.

    ``row_groups``: only these (None: all), the first row being row ``first_index`` of the file.
    """
    index = first_index
    for batch in pq.ParquetFile(stream).iter_batches(batch_size=_PARQUET_BATCH_ROWS, row_groups=row_groups):
        for fields in batch.to_pylist():
            yield _classify(fields, spec, uri, index, options, fields)
            index += 1


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
