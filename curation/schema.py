"""The record schema: the one place that defines what every table holds.

Inside a Beam pipeline a document travels as a plain ``dict`` whose keys are the
column names of :data:`RECORD_SCHEMA` (values are plain Python types), so every
stage can be unit-tested without Beam and any stage's output can be written with
:func:`to_table`. Users and their query engines read these names: keep them
stable, add columns at the end, never rename.

Every input record ends in exactly one table, each row with a reason:

* ``data/``          the curated output (:data:`RECORD_SCHEMA`)
* ``rejected/``      bad input (:data:`REJECTED_SCHEMA`, reason in :class:`RejectReason`)
* ``duplicates/``    removed by dedup (:data:`DUPLICATE_SCHEMA`)
* ``not_selected/``  left out by the sampler (:data:`NOT_SELECTED_SCHEMA`)
"""

from __future__ import annotations

import enum
import json
from typing import Any, Iterable, Mapping

import pyarrow as pa

SCHEMA_VERSION = "1"


class Origin(str, enum.Enum):
    """Who wrote a document, as far as the pipeline knows."""

    REAL = "real"
    SYNTHETIC = "synthetic"


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

# Each output table (its folder under OUTPUT/) and its schema.
TABLE_SCHEMAS: dict[str, pa.Schema] = {
    "data": RECORD_SCHEMA,
    "rejected": REJECTED_SCHEMA,
    "duplicates": DUPLICATE_SCHEMA,
    "not_selected": NOT_SELECTED_SCHEMA,
}

# Beam output tags shared by the transforms that split a PCollection by fate.
DUPLICATES_TAG = "duplicates"


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
