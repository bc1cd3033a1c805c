"""Reading a file in splits gives exactly what reading it whole gives."""

import gzip
import io
import json

import apache_beam as beam
import pyarrow as pa
import pyarrow.parquet as pq
from apache_beam.testing.util import assert_that, equal_to

from curation.reading import splits
from curation.reading.files import read_file
from curation.reading.options import MIB, ReadOptions
from curation.reading.transforms import ReadDocuments
from curation.schema import Fate

LINES = [
    json.dumps({"id": "a", "text": "first document"}),
    "",  # blank lines are not records but keep their line number
    json.dumps({"text": "no id: the id is uri#index"}),
    "not json",
    json.dumps({"id": "b", "text": "x" * 180}),  # over max_text_bytes: rejected
    json.dumps({"id": "c", "text": "crlf line"}) + "\r",
    "   ",
    json.dumps({"id": "d", "text": "last, without a newline"}),
]
DATA = "\n".join(LINES).encode()


def _read_in_splits(data: bytes, uri: str, split_bytes: int, options: ReadOptions) -> list:
    planned = splits.plan_file(0, uri, len(data), split_bytes, lambda: io.BytesIO(data))
    located = [splits.locate_lines(io.BytesIO(data), s) if splits.needs_line_count(s) else s for s in planned]
    rows = []
    for split in splits.number_splits(located):
        rows += list(splits.read_split(io.BytesIO(data), split, options.inputs[0], options))
    return rows


def test_every_split_size_reads_the_same_records_at_the_same_indices():
    options = ReadOptions(inputs=("/d/x.jsonl",), max_text_bytes=40, run_id="r")
    whole = list(read_file(io.BytesIO(DATA), "/d/x.jsonl", options.inputs[0], options))
    assert [tag for tag, _ in whole].count(Fate.REJECTED.tag) == 2  # "not json", "b"
    for data in (DATA, DATA + b"\n", b"\n" + DATA, b"\xef\xbb\xbf" + DATA):  # a BOM is stripped in every split
        whole = list(read_file(io.BytesIO(data), "/d/x.jsonl", options.inputs[0], options))
        for split_bytes in range(1, len(data) + 2):
            assert _read_in_splits(data, "/d/x.jsonl", split_bytes, options) == whole, split_bytes


def test_an_over_long_line_spanning_many_splits_is_rejected_once():
    options = ReadOptions(inputs=("/d/x.jsonl",), max_text_bytes=10, run_id="r")
    long_line = json.dumps({"id": "big", "text": "y" * (3 * MIB)})
    data = (json.dumps({"id": "s", "text": "short"}) + "\n" + long_line + "\n" + '{"id": "t", "text": "tail"}').encode()
    rows = _read_in_splits(data, "/d/x.jsonl", 256 * 1024, options)
    assert [(tag, row["source_index"]) for tag, row in rows] == [
        (Fate.OUTPUT.tag, 0), (Fate.REJECTED.tag, 1), (Fate.OUTPUT.tag, 2)
    ]
    assert rows[1][1]["reason"] == "too_large"


def test_line_counts_and_starts_of_byte_ranges():
    data = b"ab\ncd\n"
    counted = [splits.locate_lines(io.BytesIO(data), s) for s in splits.plan_jsonl(0, "/x.jsonl", 6, 2)]
    assert [(s.start, s.end, s.records, s.first_line_start) for s in counted] == [
        (0, 2, 1, 0), (2, 4, 1, 3), (4, 6, 0, 0)
    ]
    assert [s.first_index for s in splits.number_splits(reversed(counted))] == [0, 1, 2]


def test_compressed_files_are_never_split():
    data = gzip.compress(DATA)
    assert [s.parts for s in splits.plan_file(0, "/d/x.jsonl.gz", len(data), 1, lambda: io.BytesIO(data))] == [1]


def _parquet(rows: int, row_group_size: int) -> bytes:
    table = pa.table({"id": [f"p{i}" for i in range(rows)], "text": [f"text {i}" for i in range(rows)]})
    sink = io.BytesIO()
    pq.write_table(table, sink, row_group_size=row_group_size)
    return sink.getvalue()


def test_parquet_splits_at_row_groups_and_keeps_row_indices():
    data = _parquet(95, 10)
    options = ReadOptions(inputs=("/d/x.parquet",), run_id="r")
    planned = splits.plan_file(0, "/d/x.parquet", len(data), 200, lambda: io.BytesIO(data))
    assert len(planned) > 2 and sum(s.records for s in planned) == 95
    whole = list(read_file(io.BytesIO(data), "/d/x.parquet", options.inputs[0], options))
    assert _read_in_splits(data, "/d/x.parquet", 200, options) == whole
    assert [row["source_index"] for _, row in whole] == list(range(95))


def test_a_parquet_file_with_a_bad_footer_is_one_split_and_rejected_when_read():
    data = b"PAR1" + b"\0" * 500
    options = ReadOptions(inputs=("/d/x.parquet",), run_id="r")
    assert [s.parts for s in splits.plan_file(0, "/d/x.parquet", len(data), 100, lambda: io.BytesIO(data))] == [1]
    rows = _read_in_splits(data, "/d/x.parquet", 100, options)
    assert [(tag, row["reason"]) for tag, row in rows] == [(Fate.REJECTED.tag, "unreadable_file")]


def test_read_documents_in_small_splits_equals_reading_whole_files(make_pipeline, tmp_path):
    (tmp_path / "big.jsonl").write_bytes(DATA + b"\n" + b"\n".join(
        json.dumps({"id": f"n{i}", "text": f"document number {i}"}).encode() for i in range(200)
    ))
    (tmp_path / "rows.parquet").write_bytes(_parquet(50, 7))
    pattern = str(tmp_path / "*")

    def read_all(p, split_bytes, label):
        read = p | label >> ReadDocuments(ReadOptions(inputs=(pattern,), max_text_bytes=40, run_id="r",
                                                      split_bytes=split_bytes))
        return {name: read[name] for name in ("documents", "rejected", "files")}

    with make_pipeline() as p:
        small, whole = read_all(p, 300, "Small"), read_all(p, MIB, "Whole")
        for name in small:
            matched = (
                {"small": small[name] | f"Key{name}S" >> beam.Map(lambda r: (json.dumps(r, sort_keys=True), 1)),
                 "whole": whole[name] | f"Key{name}W" >> beam.Map(lambda r: (json.dumps(r, sort_keys=True), 1))}
                | f"Join{name}" >> beam.CoGroupByKey()
                | f"Same{name}" >> beam.MapTuple(lambda _, sides: (len(list(sides["small"])), len(list(sides["whole"]))))
                | f"Distinct{name}" >> beam.Distinct()
            )
            assert_that(matched, equal_to([(1, 1)]), label=f"same_{name}")
        assert_that(small["documents"] | beam.combiners.Count.Globally(), equal_to([4 + 200 + 50]), label="n")
