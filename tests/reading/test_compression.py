"""Compressed input: damage is reported where it is, and what came before it stands."""

import bz2
import gzip
import json

import pytest

from curation.reading.options import ReadOptions
from curation.reading.transforms import iter_inputs
from curation.schema import Fate

LINES = b"".join(json.dumps({"id": i, "text": f"document {i} " * 10}).encode() + b"\n" for i in range(5000))


def _read(tmp_path, name: str, data: bytes) -> list:
    (tmp_path / name).write_bytes(data)
    return list(iter_inputs(ReadOptions(inputs=(str(tmp_path / name),), run_id="r")))


def _documents_then_one_unreadable(rows) -> int:
    """The documents before the single unreadable_file row that ends the rows; their count."""
    *documents, (tag, last) = rows
    assert all(t == Fate.OUTPUT.tag for t, _ in documents)
    assert (tag, last["reason"], last["source_index"]) == (Fate.REJECTED.tag, "unreadable_file", len(documents))
    assert [row["id"] for _, row in documents] == [str(i) for i in range(len(documents))]
    return len(documents)


def _bz2(data: bytes) -> bytes:
    return bz2.compress(data, 1)  # 100 kB blocks: half the file holds whole blocks


@pytest.mark.parametrize("name, compress", [("t.jsonl.gz", gzip.compress), ("t.jsonl.bz2", _bz2)])
def test_a_truncated_stream_is_unreadable_where_it_stops(tmp_path, name, compress):
    data = compress(LINES)
    rows = _read(tmp_path, name, data[: len(data) // 2])
    read = _documents_then_one_unreadable(rows)
    assert 0 < read < 5000 and "truncated" in rows[-1][1]["detail"]


def test_trailing_garbage_keeps_every_record_before_it(tmp_path):
    rows = _read(tmp_path, "t.jsonl.gz", gzip.compress(LINES) + b"not gzip at all")
    assert _documents_then_one_unreadable(rows) == 5000
    assert "after the end of the compressed stream" in rows[-1][1]["detail"]


def test_concatenated_members_and_zero_padding_read_as_one_stream(tmp_path):
    half = len(LINES) // 2
    cut = LINES.index(b"\n", half) + 1
    rows = _read(tmp_path, "t.jsonl.gzip", gzip.compress(LINES[:cut]) + gzip.compress(LINES[cut:]) + b"\0" * 64)
    assert [row["id"] for tag, row in rows] == [str(i) for i in range(5000)]


def test_an_empty_compressed_file_holds_no_records(tmp_path):
    assert _read(tmp_path, "t.jsonl.gz", b"") == []
