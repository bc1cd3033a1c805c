"""Records sharing one id: the first by location stays. (no Beam)"""

from curation.reading.ids import ID_BUCKETS, duplicate_id_row, first_location_of_reused_ids, id_bucket, location


def _record(record_id: str, uri: str, index: int) -> dict:
    return dict(id=record_id, text="t" * 5000, source="s", source_uri=uri, source_index=index, run_id="r")


def test_only_reused_ids_are_named_each_with_its_first_location_in_any_order():
    entries = [("x", "b", 0), ("y", "a", 1), ("x", "a", 5), ("x", "a", 2), ("z", "c", 0), ("z", "c", 3)]
    expected = {"x": ("a", 2), "z": ("c", 0)}
    assert first_location_of_reused_ids(entries) == expected
    assert first_location_of_reused_ids(reversed(entries)) == expected
    assert first_location_of_reused_ids([("y", "a", 1)]) == {}


def test_a_later_copy_becomes_a_duplicate_id_row_naming_where_the_id_was_kept():
    record = _record("x", "b", 0)
    row = duplicate_id_row(record, ("a", 2))
    assert (row["reason"], row["source_uri"], row["source_index"], row["id"]) == ("duplicate_id", "b", 0, "x")
    assert row["detail"] == "id already used at a:2"
    assert len(row["raw"]) < len(record["text"])  # an excerpt, not the whole text
    assert location(record) == ("b", 0)


def test_id_buckets_are_stable_and_spread():
    assert id_bucket("x") == id_bucket("x")
    assert len({id_bucket(f"doc-{i}") for i in range(5000)}) == ID_BUCKETS
    assert 0 <= id_bucket("\ud800 lone surrogate") < ID_BUCKETS
