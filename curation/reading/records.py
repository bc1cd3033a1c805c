"""Turning one input object into a document or a rejected row.

Every input record becomes either a document (a dict of
:data:`curation.schema.RECORD_SCHEMA` columns) or a rejected row
(:data:`curation.schema.REJECTED_SCHEMA`) with a reason; nothing is dropped.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Mapping

from curation.reading.options import ReadOptions
from curation.reading.specs import UNKNOWN_ORIGIN, InputSpec
from curation.schema import REJECTED_SCHEMA, Fate, RejectReason, metadata_json, new_record, project_row

RAW_EXCERPT_CHARS = 2000  # how much of a bad record's raw input the rejected table keeps
_NON_FINITE = re.compile(r"NaN|Infinity")  # what json.dumps writes for float nan / inf


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
        return None if spec.origin == UNKNOWN_ORIGIN else spec.origin
    if not options.origin_field or fields.get(options.origin_field) is None:
        return None
    value = str(fields[options.origin_field])
    if value not in options.origin_values:
        raise _RecordError(
            RejectReason.UNKNOWN_ORIGIN_VALUE,
            f"{options.origin_field}={value!r} is not in the origin value map {sorted(options.origin_values)}",
        )
    target = options.origin_values[value]
    return None if target == UNKNOWN_ORIGIN else target


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


def rejected_id(fields: Any, options: ReadOptions) -> str | None:
    """The id a rejected row keeps: the record's id field when it is a usable one (safely encoded)."""
    value = fields.get(options.id_field) if isinstance(fields, dict) and options.id_field else None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    return str(value)[:RAW_EXCERPT_CHARS].encode("utf-8", "replace").decode("utf-8")


def classify(fields: Any, spec: InputSpec, uri: str, index: int, options: ReadOptions, raw: Any) -> tuple[str, dict]:
    """``(Fate.OUTPUT.tag, document)`` or ``(Fate.REJECTED.tag, row)`` for one parsed input
    object; ``raw`` is the input a rejected row keeps an excerpt of."""
    try:
        if not isinstance(fields, dict):
            raise _RecordError(RejectReason.NOT_AN_OBJECT, f"expected a JSON object, got {type(fields).__name__}")
        return Fate.OUTPUT.tag, build_document(fields, spec, uri, index, options)
    except _RecordError as err:
        record_id = None if err.reason is RejectReason.INVALID_ID else rejected_id(fields, options)
        return Fate.REJECTED.tag, rejected_row(
            err.reason, err.detail, spec.source_name(), uri, index, raw, options.run_id, record_id
        )
    except (ValueError, RecursionError, OverflowError, TypeError) as err:
        # A value Python holds but cannot handle (re-encoding metadata nested near the
        # recursion limit, ...): this record is rejected, the file's other records stand.
        return Fate.REJECTED.tag, rejected_row(
            RejectReason.INVALID_VALUE, f"{type(err).__name__}: {str(err)[:300]}", spec.source_name(), uri, index,
            raw, options.run_id, rejected_id(fields, options),
        )
