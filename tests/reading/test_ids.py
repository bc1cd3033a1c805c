"""Records sharing one id: the first by location stays."""

from curation.reading.ids import resolve_duplicate_ids


def test_duplicate_ids_keep_the_first_by_location():
    records = [
        dict(id="x", text="t", source="s", source_uri=u, source_index=i, run_id="r")
        for u, i in [("b", 0), ("a", 5), ("a", 2)]
    ]
    kept, rejected = resolve_duplicate_ids(records)
    assert (kept["source_uri"], kept["source_index"]) == ("a", 2)
    assert [(r["source_uri"], r["source_index"], r["reason"]) for r in rejected] == [
        ("a", 5, "duplicate_id"),
        ("b", 0, "duplicate_id"),
    ]
