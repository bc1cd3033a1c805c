"""The record schema: the one place that defines what every table holds.

Inside a Beam pipeline a document travels as a plain ``dict`` whose keys are the
column names of :data:`RECORD_SCHEMA` (values are plain Python types), so every
stage can be unit-tested without Beam and any stage's output can be written with
:func:`to_table`. Users and their query engines read these names: keep them
stable, add columns at the end, never rename.

Every input record ends in exactly one table, each row with a reason; :class:`Fate`
is the one registry of those ends (table, schema, reason column, Beam tag, counter
name, card title, Croissant description), and every stage and document reads it:

* ``data/``          the curated output (:data:`RECORD_SCHEMA`)
* ``rejected/``      bad input (:data:`REJECTED_SCHEMA`, reason in :class:`RejectReason`)
* ``duplicates/``    removed by dedup (:data:`DUPLICATE_SCHEMA`)
* ``not_selected/``  left out by the sampler (:data:`NOT_SELECTED_SCHEMA`)

Rows are built with :func:`new_record` (a document) and :func:`project_row` (a
side table's row from a document), never by listing columns by hand.
"""

from __future__ import annotations

import enum
import json
from typing import Any, Iterable, Mapping

import pyarrow as pa

from curation.hashing import content_hash

SCHEMA_VERSION = "1"


class Origin(str, enum.Enum):
    """Who wrote a document, as far as the pipeline knows."""

    REAL = "real"
    SYNTHETIC = "synthetic"


# How shards, the manifest and the documents name the class of data rows whose origin is not decided.
UNKNOWN_CLASS = "unknown"


class OriginBasis(str, enum.Enum):
    """What decided a record's ``origin``."""

    DECLARED = "declared"  # the input's own metadata said so
    DETECTOR = "detector"  # the synthetic-text classifier's calibrated threshold
    ASSUMED = "assumed"  # the user told the job how to count undeclared records
    NONE = "none"  # nothing decided yet: no declaration, no detector


class RatioUnit(str, enum.Enum):
    """What the real:synthetic floor (and then the sample budget) counts."""

    ROWS = "rows"  # documents
    BYTES = "bytes"  # UTF-8 bytes of text (see :func:`text_bytes`)


def text_bytes(text: str) -> int:
    """A text's size in the ``bytes`` unit: its UTF-8 bytes."""
    return len(text.encode("utf-8"))


class RejectReason(str, enum.Enum):
    """Why an input record went to ``rejected/``. Each has a Beam counter."""

    INVALID_JSON = "invalid_json"
    INVALID_UTF8 = "invalid_utf8"  # bytes that are not UTF-8
    INVALID_UNICODE = "invalid_unicode"  # lone surrogates (e.g. JSON "\\ud800"): not encodable
    NOT_AN_OBJECT = "not_an_object"  # a JSON line that is not an object
    MISSING_TEXT = "missing_text"
    NON_STRING_TEXT = "non_string_text"
    EMPTY_TEXT = "empty_text"  # empty or whitespace only
    NUL_BYTE = "nul_byte"
    TOO_LARGE = "too_large"  # text over ReadOptions.max_text_bytes
    INVALID_ID = "invalid_id"  # id present but not a non-empty string or integer
    DUPLICATE_ID = "duplicate_id"  # a later record reusing an id already seen
    UNKNOWN_ORIGIN_VALUE = "unknown_origin_value"  # origin field value not in the value map
    UNREADABLE_FILE = "unreadable_file"  # the file itself failed (corrupt gzip, bad Parquet)
    # valid syntax, but a value the reader cannot represent: an integer of over 4,300
    # digits, nesting deeper than Python's recursion limit, a Parquet timestamp past year 9999
    INVALID_VALUE = "invalid_value"


RECORD_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("source", pa.string(), nullable=False),  # dataset name
        pa.field("source_uri", pa.string(), nullable=False),  # input file
        pa.field("source_index", pa.int64(), nullable=False),  # line / row in that file, from 0
        pa.field("declared_origin", pa.string()),  # real / synthetic / null, from the input
        pa.field("synthetic_score", pa.float64()),  # detector's P(synthetic), null if not scored
        pa.field("detector_id", pa.string()),  # sha256 of the detector model that scored it
        pa.field("origin", pa.string()),  # real / synthetic: the label the sampler uses
        pa.field("origin_basis", pa.string(), nullable=False),  # an OriginBasis value
        pa.field("content_hash", pa.string(), nullable=False),  # sha256 of the text (UTF-8)
        pa.field("cluster_id", pa.string()),  # near-dup cluster (null: not clustered)
        pa.field("cluster_size", pa.int64(), nullable=False),  # documents in the cluster, 1 if alone
        pa.field("stratum", pa.string()),  # sampling stratum
        pa.field("metadata", pa.string(), nullable=False),  # JSON object: the input's other fields
        pa.field("run_id", pa.string(), nullable=False),
        # quota / size of its (stratum, origin), in the ratio unit; null: no sampling
        pa.field("inclusion_probability", pa.float64()),
    ],
    metadata={"curation.schema_version": SCHEMA_VERSION},
)

REJECTED_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string()),  # null when the record had no readable id
        pa.field("reason", pa.string(), nullable=False),  # a RejectReason value
        pa.field("detail", pa.string(), nullable=False),  # human-readable specifics
        pa.field("source", pa.string(), nullable=False),
        pa.field("source_uri", pa.string(), nullable=False),
        pa.field("source_index", pa.int64(), nullable=False),
        pa.field("raw", pa.string(), nullable=False),  # truncated, safely decoded copy of the input
        pa.field("run_id", pa.string(), nullable=False),
    ],
    metadata={"curation.schema_version": SCHEMA_VERSION},
)

DUPLICATE_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("duplicate_of", pa.string(), nullable=False),  # the surviving record's id
        pa.field("cluster_id", pa.string(), nullable=False),
        pa.field("similarity", pa.float64(), nullable=False),  # to the survivor; 1.0 for exact
        pa.field("kind", pa.string(), nullable=False),  # exact / near
        pa.field("source", pa.string(), nullable=False),
        pa.field("source_uri", pa.string(), nullable=False),
        pa.field("source_index", pa.int64(), nullable=False),
        pa.field("run_id", pa.string(), nullable=False),
    ],
    metadata={"curation.schema_version": SCHEMA_VERSION},
)

NOT_SELECTED_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("reason", pa.string(), nullable=False),
        pa.field("origin", pa.string()),
        pa.field("origin_basis", pa.string(), nullable=False),
        pa.field("stratum", pa.string()),
        pa.field("source", pa.string(), nullable=False),
        pa.field("source_uri", pa.string(), nullable=False),
        pa.field("source_index", pa.int64(), nullable=False),
        pa.field("run_id", pa.string(), nullable=False),
        pa.field("synthetic_score", pa.float64()),
        pa.field("detector_id", pa.string()),
        pa.field("cluster_id", pa.string()),
        pa.field("cluster_size", pa.int64(), nullable=False),
        pa.field("inclusion_probability", pa.float64(), nullable=False),
    ],
    metadata={"curation.schema_version": SCHEMA_VERSION},
)



class Fate(str, enum.Enum):
    """Where an input record can end: one member per output table, in the order the
    manifest, card and Croissant list them.

    The value is the fate's name in the manifest's ``accounting``. Each member carries
    ``table`` (its folder under OUTPUT/, and its key in ``tables`` and ``reasons``),
    ``schema``, ``reason_column`` (None for the output), ``tag`` (the Beam output tag
    of the stream that carries it; the output's is the main stream's, ``documents``),
    ``counter`` (a Beam counter name template over the reason), ``title`` (the
    card's heading) and ``description`` (the Croissant record set's).
    """

    def __new__(cls, name: str, table: str, schema: pa.Schema, reason_column: str | None, tag: str,
                counter: str, title: str, description: str):
        member = str.__new__(cls, name)
        member._value_ = name
        member.table, member.schema, member.reason_column, member.tag = table, schema, reason_column, tag
        member.counter, member.title, member.description = counter, title, description
        return member

    OUTPUT = ("output", "data", RECORD_SCHEMA, None, "documents", "documents",
              "What came out", "The curated records.")
    REJECTED = ("rejected", "rejected", REJECTED_SCHEMA, "reason", "rejected", "rejected_{reason}",
                "Rejected input", "Input records that failed validation, with the reason.")
    DUPLICATE = ("duplicate", "duplicates", DUPLICATE_SCHEMA, "kind", "duplicates", "{reason}_duplicate",
                 "Duplicates", "Records removed as exact or near duplicates, with the surviving record's id.")
    NOT_SELECTED = ("not_selected", "not_selected", NOT_SELECTED_SCHEMA, "reason", "not_selected", "{reason}",
                    "Not selected by the sampler", "Valid records the sampler left out, with the reason.")

    def counter_name(self, reason: str) -> str:
        """The Beam counter of this fate's rows with ``reason``."""
        return self.counter.format(reason=reason)

    @classmethod
    def of_table(cls, table: str) -> "Fate":
        """The fate whose rows ``table`` holds (KeyError: not an output table)."""
        return _FATE_OF_TABLE[table]

    @classmethod
    def removals(cls) -> tuple["Fate", ...]:
        """Every fate but the output: the tables of what a run set aside, each with a reason."""
        return tuple(f for f in cls if f.reason_column is not None)


_FATE_OF_TABLE = {fate.table: fate for fate in Fate}

# Each output table (its folder under OUTPUT/) and its schema.
TABLE_SCHEMAS: dict[str, pa.Schema] = {fate.table: fate.schema for fate in Fate}


def new_record(
    *, id: str, text: str, source: str, source_uri: str, source_index: int, run_id: str,
    declared_origin: str | None = None, metadata: str = "{}", **columns: Any,
) -> dict:
    """A document as it leaves the reader: every :data:`RECORD_SCHEMA` column, the
    derived ones (``content_hash``, ``origin`` and its basis) filled in; ``columns``
    set any other column (``synthetic_score=0.3``), later stages' defaults otherwise."""
    record = {
        "id": id,
        "text": text,
        "source": source,
        "source_uri": source_uri,
        "source_index": source_index,
        "declared_origin": declared_origin,
        "synthetic_score": None,
        "detector_id": None,
        "origin": declared_origin,
        "origin_basis": (OriginBasis.DECLARED if declared_origin else OriginBasis.NONE).value,
        "content_hash": content_hash(text),
        "cluster_id": None,
        "cluster_size": 1,
        "stratum": None,
        "metadata": metadata,
        "run_id": run_id,
        "inclusion_probability": None,
    }
    return _with_columns(record, columns, RECORD_SCHEMA)


def project_row(schema: pa.Schema, source: Mapping[str, Any] | None = None, /, **columns: Any) -> dict:
    """A row of ``schema``: each column from ``columns`` if given there, else from ``source``
    (a document, say), which must then hold it. Unknown ``columns`` are an error."""
    source = source or {}
    row = {name: columns[name] if name in columns else source[name] for name in schema.names}
    return _with_columns(row, columns, schema)


def _with_columns(row: dict, columns: Mapping[str, Any], schema: pa.Schema) -> dict:
    extra = set(columns) - set(schema.names)
    if extra:
        raise ValueError(f"not columns of the schema: {sorted(extra)}")
    row.update(columns)
    return row


def to_table(rows: Iterable[Mapping[str, Any]], schema: pa.Schema) -> pa.Table:
    """Builds a table of exactly ``schema``'s columns from row dicts.

    Missing keys become nulls (and fail loudly for non-nullable columns);
    extra keys are an error, because a misspelt column would otherwise vanish.
    """
    rows = list(rows)
    names = set(schema.names)
    for row in rows:
        extra = set(row) - names
        if extra:
            raise ValueError(f"row has columns not in the schema: {sorted(extra)}")
    columns = {name: [row.get(name) for row in rows] for name in schema.names}
    return pa.Table.from_pydict(columns, schema=schema)


def metadata_json(fields: Mapping[str, Any]) -> str:
    """The canonical JSON of an input's pass-through fields (sorted keys: stable bytes)."""
    return json.dumps(fields, sort_keys=True, ensure_ascii=False, default=str)


def describe(schema: pa.Schema = RECORD_SCHEMA) -> list[tuple[str, str, bool]]:
    """(name, type, nullable) per column, for docs and the dataset card."""
    return [(f.name, str(f.type), f.nullable) for f in schema]
