"""Reading JSONL: every bad line costs only itself, and no line is held whole past the cap."""

import io
import json

import pytest

from curation.reading.jsonl import READ_CHUNK, iter_lines
from curation.reading.options import MIB
from curation.reading.records import RAW_EXCERPT_CHARS
from curation.schema import REJECTED_SCHEMA, Fate, RejectReason, to_table
from tests.bad_input import BAD_LINES, MORE_BAD_LINES
from tests.factories import READ_URI, read_options, read_bytes


@pytest.mark.parametrize("reason", [r for r in BAD_LINES if r is not RejectReason.DUPLICATE_ID])
def test_each_bad_line_is_rejected_with_its_reason(reason):
    [(tag, row)] = read_bytes(BAD_LINES[reason] + b"\n")
    assert tag == Fate.REJECTED.tag
    assert row["reason"] == reason.value
    assert row["source_uri"] == READ_URI and row["source_index"] == 0
    assert row["raw"] and len(row["raw"]) <= RAW_EXCERPT_CHARS
    to_table([row], REJECTED_SCHEMA)  # always writable, even for invalid UTF-8 / surrogates


def test_every_bad_line_costs_only_itself():
    """A bad line between good ones, of every kind: exactly one rejected row, the rest stand."""
    bad = [(r, raw) for r, raw in BAD_LINES.items() if r is not RejectReason.DUPLICATE_ID] + MORE_BAD_LINES
    lines = []
    for k, (_, raw) in enumerate(bad):
        lines += [json.dumps({"id": f"g{k}", "text": "good"}).encode(), raw]
    rows = read_bytes(b"\n".join(lines + [b'{"id": "last", "text": "good"}']))
    assert [(tag, row.get("reason"), row["source_index"]) for tag, row in rows] == [
        item for k, (reason, _) in enumerate(bad)
        for item in ((Fate.OUTPUT.tag, None, 2 * k), (Fate.REJECTED.tag, reason.value, 2 * k + 1))
    ] + [(Fate.OUTPUT.tag, None, 2 * len(bad))]


@pytest.mark.parametrize("reason, raw", MORE_BAD_LINES, ids=["big_int", "deep_nesting"])
def test_valid_json_that_python_cannot_hold_is_an_invalid_value(reason, raw):
    [(tag, row)] = read_bytes(raw + b"\n")
    assert (tag, row["reason"]) == (Fate.REJECTED.tag, reason.value) and "valid JSON" in row["detail"]


def test_nesting_at_every_depth_near_the_limit_gives_each_line_one_fate():
    # Depths the parser accepts but re-encoding the metadata may not (it runs deeper
    # in the stack): a line that parses and then fails is rejected on its own.
    lines = [b'{"id": "d%d", "text": "t", "m": %s%s}' % (d, b"[" * d, b"]" * d) for d in range(900, 1000)]
    rows = read_bytes(b"\n".join(lines + [b'{"id": "after", "text": "t"}']))
    assert [row["source_index"] for _, row in rows] == list(range(101))
    assert {row.get("reason") for _, row in rows} <= {None, "invalid_value"} and rows[-1][0] == Fate.OUTPUT.tag


def test_a_byte_order_mark_at_the_start_is_not_part_of_the_first_record():
    rows = read_bytes(b'\xef\xbb\xbf{"id": 1, "text": "first"}\n{"id": 2, "text": "second"}\n')
    assert [(tag, row["id"]) for tag, row in rows] == [(Fate.OUTPUT.tag, "1"), (Fate.OUTPUT.tag, "2")]


def test_carriage_return_only_line_ends_are_named_in_the_rejection():
    [(tag, row)] = read_bytes(b'{"id": 1, "text": "a"}\r{"id": 2, "text": "b"}\r')
    assert (tag, row["reason"]) == (Fate.REJECTED.tag, "invalid_json")
    assert "carriage return" in row["detail"] and "\\r alone" in row["detail"]


def test_an_over_long_line_keeps_its_id_and_a_raw_prefix():
    options = read_options(max_text_bytes=10)
    body = "y" * (options.max_line_bytes() + 10)
    lines = [json.dumps({"id": "big", "meta": {"id": "nested"}, "text": body}), json.dumps({"text": body, "id": "late"})]
    rows = read_bytes("\n".join(lines).encode(), options)
    assert [(row["reason"], row["id"]) for _, row in rows] == [("too_large", "big"), ("too_large", None)]
    assert rows[0][1]["raw"].startswith('{"id": "big", "meta"') and len(rows[0][1]["raw"]) == RAW_EXCERPT_CHARS
    to_table([row for _, row in rows], REJECTED_SCHEMA)


def test_line_over_the_cap_is_rejected_without_holding_it():
    options = read_options(max_text_bytes=10)
    huge = b'{"id": 1, "text": "' + b"y" * (options.max_line_bytes() + 10) + b'"}'
    rows = read_bytes(huge + b'\n{"id": 2, "text": "fine"}\n', options)
    assert [(t, r.get("reason")) for t, r in rows] == [(Fate.REJECTED.tag, "too_large"), (Fate.OUTPUT.tag, None)]
    assert rows[1][1]["source_index"] == 1


def test_iter_lines_across_chunk_boundaries():
    data = b"a" * (READ_CHUNK - 1) + b"\r\nbb\ncc"
    lines = [(i, line) for i, line, _, _ in iter_lines(io.BytesIO(data), 10 * MIB)]
    assert lines == [(0, b"a" * (READ_CHUNK - 1)), (1, b"bb"), (2, b"cc")]
