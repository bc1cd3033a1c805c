import gzip
import io
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curation.reading import core
from curation.reading.core import InputSpec, ReadOptions
from curation.schema import RECORD_SCHEMA, REJECTED_SCHEMA, RejectReason, to_table
from tests.bad_input import BAD_LINES, MAX_TEXT_BYTES

URI = "/data/web.jsonl"


def _options(**kw):
    kw.setdefault("inputs", (URI,))
    kw.setdefault("origin_field", "origin")
    kw.setdefault("origin_values", {"human": "real", "ai": "synthetic"})
    kw.setdefault("max_text_bytes", MAX_TEXT_BYTES)
    kw.setdefault("run_id", "run-test")
    return ReadOptions(**kw)


def _read(data: bytes, options=None, uri=URI):
    options = options or _options()
    return list(core.read_file(io.BytesIO(data), uri, options.inputs[0], options))


@pytest.mark.parametrize("reason", [r for r in BAD_LINES if r is not RejectReason.DUPLICATE_ID])
def test_each_bad_line_is_rejected_with_its_reason(reason):
    [(tag, row)] = _read(BAD_LINES[reason] + b"\n")
    assert tag == core.REJECTED
    assert row["reason"] == reason.value
    assert row["source_uri"] == URI and row["source_index"] == 0
    assert row["raw"] and len(row["raw"]) <= core.RAW_EXCERPT_CHARS
    to_table([row], REJECTED_SCHEMA)  # always writable, even for invalid UTF-8 / surrogates


def test_good_record_maps_fields_and_keeps_the_rest_as_metadata():
    line = json.dumps({"id": 7, "text": "Hello there.", "origin": "human", "lang": "en", "score": 0.5})
    [(tag, record)] = _read(line.encode() + b"\n")
    assert tag == core.DOCUMENT
    assert record["id"] == "7"
    assert record["declared_origin"] == record["origin"] == "real"
    assert record["origin_basis"] == "declared"
    assert json.loads(record["metadata"]) == {"lang": "en", "score": 0.5}
    assert record["source"] == "web" and record["source_index"] == 0
    to_table([record], RECORD_SCHEMA)


def test_missing_id_is_generated_from_location_and_missing_origin_stays_undecided():
    [(_, record)] = _read(b'\n\n{"text": "no id here"}\n')
    assert record["id"] == f"{URI}#2"  # blank lines are not records but keep line numbers true
    assert record["declared_origin"] is None and record["origin"] is None
    assert record["origin_basis"] == "none"


def test_input_spec_origin_overrides_the_field():
    options = _options(inputs=(f"{URI}:source=ours,origin=synthetic",))
    [(_, record)] = _read(b'{"id": 1, "text": "t", "origin": "human"}\n', options)
    assert record["declared_origin"] == "synthetic" and record["source"] == "ours"
    options = _options(inputs=(f"{URI}:origin=unknown",))
    [(_, record)] = _read(b'{"id": 1, "text": "t", "origin": "robot"}\n', options)
    assert record["declared_origin"] is None


def test_input_spec_parsing():
    assert InputSpec.parse("gs://bucket/web/*.jsonl.gz") == InputSpec("gs://bucket/web/*.jsonl.gz")
    spec = InputSpec.parse("gs://bucket/web/*.jsonl.gz:source=web,origin=unknown")
    assert spec == InputSpec("gs://bucket/web/*.jsonl.gz", "web", "unknown")
    assert InputSpec.parse("gs://bucket/web/*.jsonl.gz").source_name() == "web"
    assert InputSpec.parse("/x/part-1.jsonl.gz").source_name() == "part-1"
    with pytest.raises(ValueError, match="unknown option"):
        InputSpec.parse("a.jsonl:colour=red")
    with pytest.raises(ValueError, match="origin must be"):
        InputSpec.parse("a.jsonl:origin=robot")


def test_options_validate():
    with pytest.raises(ValueError, match="at least one input"):
        ReadOptions(inputs=())
    with pytest.raises(ValueError, match="only to real, synthetic or unknown"):
        _options(origin_values={"human": "people"})
    with pytest.raises(ValueError, match="format"):
        core.file_format("notes.txt")


def test_line_over_the_cap_is_rejected_without_holding_it():
    options = _options(max_text_bytes=10)
    huge = b'{"id": 1, "text": "' + b"y" * (options.max_line_bytes() + 10) + b'"}'
    rows = _read(huge + b'\n{"id": 2, "text": "fine"}\n', options)
    assert [(t, r.get("reason")) for t, r in rows] == [(core.REJECTED, "too_large"), (core.DOCUMENT, None)]
    assert rows[1][1]["source_index"] == 1


def test_iter_lines_across_chunk_boundaries():
    data = b"a" * (core._READ_CHUNK - 1) + b"\r\nbb\ncc"
    lines = [(i, line) for i, line, _ in core.iter_lines(io.BytesIO(data), 10 * core.MIB)]
    assert lines == [(0, b"a" * (core._READ_CHUNK - 1)), (1, b"bb"), (2, b"cc")]


def test_corrupt_gzip_becomes_one_rejected_row_after_the_good_records():
    good = gzip.compress(b'{"id": 1, "text": "one"}\n{"id": 2, "text": "two"}\n' * 50)
    options = _options(inputs=("/d/x.jsonl.gz",))
    stream = gzip.GzipFile(fileobj=io.BytesIO(good[: len(good) // 2]))
    rows = list(core.read_file(stream, "/d/x.jsonl.gz", options.inputs[0], options))
    assert rows[-1][0] == core.REJECTED and rows[-1][1]["reason"] == "unreadable_file"
    assert all(tag == core.DOCUMENT for tag, _ in rows[:-1])
    assert rows[-1][1]["source_index"] == len(rows) - 1


def test_parquet_rows():
    table = pa.table({"id": ["a", "b", "c"], "text": ["first", None, "third"], "n": [1, 2, 3]})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    rows = _read(buffer.getvalue(), _options(inputs=("/d/t.parquet",)), uri="/d/t.parquet")
    assert [r.get("reason") for _, r in rows] == [None, "missing_text", None]
    assert json.loads(rows[2][1]["metadata"]) == {"n": 3}


def test_duplicate_ids_keep_the_first_by_location():
    records = [
        dict(id="x", text="t", source="s", source_uri=u, source_index=i, run_id="r")
        for u, i in [("b", 0), ("a", 5), ("a", 2)]
    ]
    kept, rejected = core.resolve_duplicate_ids(records)
    assert (kept["source_uri"], kept["source_index"]) == ("a", 2)
    assert [(r["source_uri"], r["source_index"], r["reason"]) for r in rejected] == [
        ("a", 5, "duplicate_id"),
        ("b", 0, "duplicate_id"),
    ]
