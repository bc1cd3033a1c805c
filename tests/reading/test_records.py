"""Mapping an input object onto the record schema."""

import json

from curation.schema import RECORD_SCHEMA, Fate, to_table
from tests.factories import READ_URI, read_options, read_bytes


def test_nan_and_infinity_in_metadata_become_null_in_strict_json():
    [(_, record)] = read_bytes(b'{"id": 1, "text": "t", "score": NaN, "more": [Infinity, -Infinity, 1.5], "s": "NaN"}\n')

    def refuse(constant):
        raise ValueError(f"bare {constant} in metadata")

    assert json.loads(record["metadata"], parse_constant=refuse) == {"score": None, "more": [None, None, 1.5], "s": "NaN"}


def test_good_record_maps_fields_and_keeps_the_rest_as_metadata():
    line = json.dumps({"id": 7, "text": "Hello there.", "origin": "human", "lang": "en", "score": 0.5})
    [(tag, record)] = read_bytes(line.encode() + b"\n")
    assert tag == Fate.OUTPUT.tag
    assert record["id"] == "7"
    assert record["declared_origin"] == record["origin"] == "real"
    assert record["origin_basis"] == "declared"
    assert json.loads(record["metadata"]) == {"lang": "en", "score": 0.5}
    assert record["source"] == "web" and record["source_index"] == 0
    to_table([record], RECORD_SCHEMA)


def test_missing_id_is_generated_from_location_and_missing_origin_stays_undecided():
    [(_, record)] = read_bytes(b'\n\n{"text": "no id here"}\n')
    assert record["id"] == f"{READ_URI}#2"  # blank lines are not records but keep line numbers true
    assert record["declared_origin"] is None and record["origin"] is None
    assert record["origin_basis"] == "none"


def test_input_spec_origin_overrides_the_field():
    options = read_options(inputs=(f"{READ_URI}:source=ours,origin=synthetic",))
    [(_, record)] = read_bytes(b'{"id": 1, "text": "t", "origin": "human"}\n', options)
    assert record["declared_origin"] == "synthetic" and record["source"] == "ours"
    options = read_options(inputs=(f"{READ_URI}:origin=unknown",))
    [(_, record)] = read_bytes(b'{"id": 1, "text": "t", "origin": "robot"}\n', options)
    assert record["declared_origin"] is None
