"""Reading Parquet: a bad row or row group costs only itself, and batches stay within the metadata's bound."""

import datetime
import io
import json
import tracemalloc

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curation.reading import parquet
from curation.reading.options import MIB
from curation.schema import REJECTED_SCHEMA, Fate, to_table
from tests.factories import read_options, read_bytes


def test_parquet_rows():
    table = pa.table({"id": ["a", "b", "c"], "text": ["first", None, "third"], "n": [1, 2, 3]})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    rows = read_bytes(buffer.getvalue(), read_options(inputs=("/d/t.parquet",)), uri="/d/t.parquet")
    assert [r.get("reason") for _, r in rows] == [None, "missing_text", None]
    assert json.loads(rows[2][1]["metadata"]) == {"n": 3}


def _parquet_bytes(table: pa.Table, **kw) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer, **kw)
    return buffer.getvalue()


def _read_parquet(data: bytes, **kw):
    return read_bytes(data, read_options(inputs=("/d/t.parquet",), **kw), uri="/d/t.parquet")


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
    [(index, bad)] = [(i, row) for i, (tag, row) in enumerate(rows) if tag == Fate.REJECTED.tag]
    assert (index, bad["reason"], bad["id"]) == (1500, "invalid_utf8", "r1500")
    assert f"'{column}'" in bad["detail"] and ("caf" in bad["raw"] or column == "tags")
    to_table([bad], REJECTED_SCHEMA)


def test_a_timestamp_python_cannot_hold_costs_only_its_row():
    stamps = pa.array([0, 2**62, 0], pa.timestamp("us"))  # 2**62 us is past year 9999
    rows = _read_parquet(_parquet_bytes(pa.table({"id": ["a", "b", "c"], "text": ["x", "y", "z"], "at": stamps})))
    assert [(tag, row.get("reason")) for tag, row in rows] == [
        (Fate.OUTPUT.tag, None), (Fate.REJECTED.tag, "invalid_value"), (Fate.OUTPUT.tag, None)
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
    assert all(tag == Fate.OUTPUT.tag for tag, _ in rows[:100] + rows[101:])


def _bomb(rows: int, text_bytes: int, **kw) -> bytes:
    """``rows`` copies of one highly compressible text, dictionary-encoded: a few kB of file."""
    text = pa.DictionaryArray.from_arrays(pa.array([0] * rows, pa.int32()), pa.array(["x" * text_bytes]))
    return _parquet_bytes(pa.table({"id": [f"b{i}" for i in range(rows)], "text": text}), compression="zstd", **kw)


@pytest.mark.parametrize("store_schema", [True, False], ids=["arrow_dictionary", "plain_strings"])
def test_a_compression_bomb_is_read_in_batches_bounded_by_the_metadata(monkeypatch, store_schema):
    data = _bomb(64, MIB, store_schema=store_schema)
    assert len(data) < 4096
    monkeypatch.setattr(parquet, "PARQUET_BATCH_BYTES", 4 * MIB)
    group = pq.ParquetFile(io.BytesIO(data)).metadata.row_group(0)
    assert parquet.parquet_batch_rows(io.BytesIO(data), group) == 3  # 3 rows of 1 MiB fit in 4 MiB, 4 do not
    tracemalloc.start()
    try:
        rows = _read_parquet(data, max_text_bytes=1000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [(row["reason"], row["id"]) for _, row in rows] == [("too_large", f"b{i}") for i in range(64)]
    # Python holds one batch of 3 texts (plus one copy while a text is measured); reading
    # 1,024 rows a batch held all 64 MiB of them at once.
    assert peak < 8 * MIB
