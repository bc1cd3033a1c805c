import datetime
import gzip
import io
import json
import tracemalloc

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curation.reading import core
from curation.reading.core import InputSpec, ReadOptions
from curation.schema import RECORD_SCHEMA, REJECTED_SCHEMA, RejectReason, to_table
from tests.bad_input import BAD_LINES, MAX_TEXT_BYTES, MORE_BAD_LINES

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


def test_every_bad_line_costs_only_itself():
    """A bad line between good ones, of every kind: exactly one rejected row, the rest stand."""
    bad = [(r, raw) for r, raw in BAD_LINES.items() if r is not RejectReason.DUPLICATE_ID] + MORE_BAD_LINES
    lines = []
    for k, (_, raw) in enumerate(bad):
        lines += [json.dumps({"id": f"g{k}", "text": "good"}).encode(), raw]
    rows = _read(b"\n".join(lines + [b'{"id": "last", "text": "good"}']))
    assert [(tag, row.get("reason"), row["source_index"]) for tag, row in rows] == [
        item for k, (reason, _) in enumerate(bad)
        for item in ((core.DOCUMENT, None, 2 * k), (core.REJECTED, reason.value, 2 * k + 1))
    ] + [(core.DOCUMENT, None, 2 * len(bad))]


@pytest.mark.parametrize("reason, raw", MORE_BAD_LINES, ids=["big_int", "deep_nesting"])
def test_valid_json_that_python_cannot_hold_is_an_invalid_value(reason, raw):
    [(tag, row)] = _read(raw + b"\n")
    assert (tag, row["reason"]) == (core.REJECTED, reason.value) and "valid JSON" in row["detail"]


def test_nesting_at_every_depth_near_the_limit_gives_each_line_one_fate():
    # Depths the parser accepts but re-encoding the metadata may not (it runs deeper
    # in the stack): a line that parses and then fails is rejected on its own.
    lines = [b'{"id": "d%d", "text": "t", "m": %s%s}' % (d, b"[" * d, b"]" * d) for d in range(900, 1000)]
    rows = _read(b"\n".join(lines + [b'{"id": "after", "text": "t"}']))
    assert [row["source_index"] for _, row in rows] == list(range(101))
    assert {row.get("reason") for _, row in rows} <= {None, "invalid_value"} and rows[-1][0] == core.DOCUMENT


def test_a_byte_order_mark_at_the_start_is_not_part_of_the_first_record():
    rows = _read(b'\xef\xbb\xbf{"id": 1, "text": "first"}\n{"id": 2, "text": "second"}\n')
    assert [(tag, row["id"]) for tag, row in rows] == [(core.DOCUMENT, "1"), (core.DOCUMENT, "2")]


def test_carriage_return_only_line_ends_are_named_in_the_rejection():
    [(tag, row)] = _read(b'{"id": 1, "text": "a"}\r{"id": 2, "text": "b"}\r')
    assert (tag, row["reason"]) == (core.REJECTED, "invalid_json")
    assert "carriage return" in row["detail"] and "\\r alone" in row["detail"]


def test_an_over_long_line_keeps_its_id_and_a_raw_prefix():
    options = _options(max_text_bytes=10)
    body = "y" * (options.max_line_bytes() + 10)
    lines = [json.dumps({"id": "big", "meta": {"id": "nested"}, "text": body}), json.dumps({"text": body, "id": "late"})]
    rows = _read("\n".join(lines).encode(), options)
    assert [(row["reason"], row["id"]) for _, row in rows] == [("too_large", "big"), ("too_large", None)]
    assert rows[0][1]["raw"].startswith('{"id": "big", "meta"') and len(rows[0][1]["raw"]) == core.RAW_EXCERPT_CHARS
    to_table([row for _, row in rows], REJECTED_SCHEMA)


def test_nan_and_infinity_in_metadata_become_null_in_strict_json():
    [(_, record)] = _read(b'{"id": 1, "text": "t", "score": NaN, "more": [Infinity, -Infinity, 1.5], "s": "NaN"}\n')

    def refuse(constant):
        raise ValueError(f"bare {constant} in metadata")

    assert json.loads(record["metadata"], parse_constant=refuse) == {"score": None, "more": [None, None, 1.5], "s": "NaN"}


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
    lines = [(i, line) for i, line, _, _ in core.iter_lines(io.BytesIO(data), 10 * core.MIB)]
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


def _parquet_bytes(table: pa.Table, **kw) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer, **kw)
    return buffer.getvalue()


def _read_parquet(data: bytes, **kw):
    return _read(data, _options(inputs=("/d/t.parquet",), **kw), uri="/d/t.parquet")


@pytest.mark.parametrize("column", ["text", "dictionary", "tags"])
def test_an_invalid_utf8_cell_costs_only_its_row(column):
    cells = [f"text {i}".encode() for i in range(3000)]
    cells[1500] = b"caf\xe9 au lait"
    strings = pa.array(cells, pa.binary()).view(pa.string())
    table = pa.table({"id": [f"r{i}" for i in range(3000)], "text": [f"text {i}" for i in range(3000)]})
    if column == "text":
        table = table.set_column(1, "text", strings)
    elif column == "dictionary":  # read back as an Arrow dictionary column
        table = table.append_column(column, strings.dictionary_encode())
    else:  # a list of strings: no cast gives its bytes
        table = table.append_column(column, pa.ListArray.from_arrays(pa.array(range(3001), pa.int32()), strings))
    rows = _read_parquet(_parquet_bytes(table, row_group_size=2000))
    assert [row["source_index"] for _, row in rows] == list(range(3000))
    [(index, bad)] = [(i, row) for i, (tag, row) in enumerate(rows) if tag == core.REJECTED]
    assert (index, bad["reason"], bad["id"]) == (1500, "invalid_utf8", "r1500")
    assert f"'{column}'" in bad["detail"] and ("caf" in bad["raw"] or column == "tags")
    to_table([bad], REJECTED_SCHEMA)


def test_a_timestamp_python_cannot_hold_costs_only_its_row():
    stamps = pa.array([0, 2**62, 0], pa.timestamp("us"))  # 2**62 us is past year 9999
    rows = _read_parquet(_parquet_bytes(pa.table({"id": ["a", "b", "c"], "text": ["x", "y", "z"], "at": stamps})))
    assert [(tag, row.get("reason")) for tag, row in rows] == [
        (core.DOCUMENT, None), (core.REJECTED, "invalid_value"), (core.DOCUMENT, None)
    ]
    assert rows[1][1]["id"] == "b" and "'at'" in rows[1][1]["detail"]
    assert json.loads(rows[0][1]["metadata"]) == {"at": str(datetime.datetime(1970, 1, 1))}


def test_a_damaged_row_group_is_reported_and_the_next_one_is_still_read():
    table = pa.table({"id": [f"r{i}" for i in range(300)], "text": [f"text number {i}" * 3 for i in range(300)]})
    data = bytearray(_parquet_bytes(table, row_group_size=100, compression="none", use_dictionary=False))
    group = pq.ParquetFile(io.BytesIO(bytes(data))).metadata.row_group(1).column(1)
    start = group.data_page_offset
    data[start: start + group.total_compressed_size] = b"\xff" * group.total_compressed_size  # its page header too
    rows = _read_parquet(bytes(data))
    assert [row["source_index"] for _, row in rows] == list(range(100)) + [100] + list(range(200, 300))
    assert rows[100][1]["reason"] == "unreadable_file" and "row group 1" in rows[100][1]["detail"]
    assert all(tag == core.DOCUMENT for tag, _ in rows[:100] + rows[101:])


def _bomb(rows: int, text_bytes: int, **kw) -> bytes:
    """``rows`` copies of one highly compressible text, dictionary-encoded: a few kB of file."""
    text = pa.DictionaryArray.from_arrays(pa.array([0] * rows, pa.int32()), pa.array(["x" * text_bytes]))
    return _parquet_bytes(pa.table({"id": [f"b{i}" for i in range(rows)], "text": text}), compression="zstd", **kw)


@pytest.mark.parametrize("store_schema", [True, False], ids=["arrow_dictionary", "plain_strings"])
def test_a_compression_bomb_is_read_in_batches_bounded_by_the_metadata(monkeypatch, store_schema):
    data = _bomb(64, core.MIB, store_schema=store_schema)
    assert len(data) < 4096
    monkeypatch.setattr(core, "_PARQUET_BATCH_BYTES", 4 * core.MIB, raising=False)
    group = pq.ParquetFile(io.BytesIO(data)).metadata.row_group(0)
    assert core._parquet_batch_rows(io.BytesIO(data), group) == 3  # 3 rows of 1 MiB fit in 4 MiB, 4 do not
    tracemalloc.start()
    try:
        rows = _read_parquet(data, max_text_bytes=1000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [(row["reason"], row["id"]) for _, row in rows] == [("too_large", f"b{i}") for i in range(64)]
    # Python holds one batch of 3 texts (plus one copy while a text is measured); reading
    # 1,024 rows a batch held all 64 MiB of them at once.
    assert peak < 8 * core.MIB
