"""Tracing one input record to the single table that holds it."""

import os

import pyarrow.dataset as ds
import pytest

from curation.provenance.trace import TraceStatus, parse_location, trace_record
from pipelines import trace as trace_job
from tests.factories import SOURCE_URI, write_full_output


def test_kept_record_is_found_in_data(curated_output, capsys):
    out, manifest, corpus = curated_output
    story = trace_record(out, record_id="good-5")
    assert story.status is TraceStatus.FOUND
    [sighting] = story.sightings
    assert (sighting.table, sighting.fate) == ("data", "output")
    assert sighting.row["source_uri"] == str(corpus) and sighting.row["run_id"] == manifest["run_id"]
    assert trace_job.main(["--output", out, "good-5"]) == 0
    printed = capsys.readouterr().out
    assert "KEPT" in printed and "input file of" in printed
    field_lines = [line for line in printed.splitlines() if line.startswith("    ")]
    fields = dict(line.split(None, 1) for line in field_lines)
    assert fields["origin_basis"] == "declared" and "inclusion_probability" in fields
    # Every value starts in one column, after its name (the longest name included).
    assert len({line.index(fields[line.split()[0]]) for line in field_lines}) == 1


def test_rejected_record_is_found_by_id_and_by_location(curated_output, capsys):
    out, _, corpus = curated_output
    story = trace_record(out, record_id="huge")
    [sighting] = story.sightings
    assert (sighting.table, sighting.row["reason"]) == ("rejected", "too_large")
    # An invalid JSON line has no id: only its location names it.
    rejected = ds.dataset(f"{out}/rejected").to_table().to_pylist()
    [bad_json] = [r for r in rejected if r["reason"] == "invalid_json"]
    assert bad_json["id"] is None
    location = f"{corpus}#{bad_json['source_index']}"
    [sighting] = trace_record(out, location=location).sightings
    assert sighting.row["reason"] == "invalid_json"
    assert trace_job.main(["--output", out, "--location", location]) == 0
    assert "REJECTED for invalid_json" in capsys.readouterr().out


def test_missing_record_exits_1(curated_output, capsys):
    out, _, _ = curated_output
    assert trace_record(out, record_id="no-such-id").status is TraceStatus.NOT_FOUND
    assert trace_job.main(["--output", out, "no-such-id"]) == 1
    assert "not found" in capsys.readouterr().out


def test_id_reused_by_a_later_record_shows_both_input_records(curated_output):
    out, _, _ = curated_output
    story = trace_record(out, record_id="good-0")
    assert story.status is TraceStatus.FOUND
    assert sorted((s.table, s.row.get("reason")) for s in story.sightings) == [("data", None), ("rejected", "duplicate_id")]


def test_duplicate_and_not_selected_records_tell_why(full_output, capsys):
    out, _ = full_output
    assert trace_job.main(["--output", out, "doc-12"]) == 0
    printed = capsys.readouterr().out
    assert f"REMOVED as a near duplicate of doc-0 at {SOURCE_URI}#0 (similarity 0.910, cluster c0)" in printed
    assert trace_job.main(["--output", out, "--location", f"{SOURCE_URI}#14"]) == 0
    assert "NOT SELECTED by the sampler: over_stratum_quota (stratum topic-0)" in capsys.readouterr().out


def test_record_in_two_tables_exits_3(tmp_path, capsys):
    out = tmp_path / "conflict"
    write_full_output(out, conflict=True)
    assert trace_job.main(["--output", str(out), "doc-15"]) == 3
    assert "ACCOUNTING BROKEN" in capsys.readouterr().out


def test_bad_locations_and_arguments_are_refused(curated_output):
    assert parse_location("gs://b/a#b.jsonl#41") == ("gs://b/a#b.jsonl", 41)
    for bad in ("file.jsonl", "#3", "file.jsonl#x"):
        with pytest.raises(ValueError):
            parse_location(bad)
    out, _, _ = curated_output
    with pytest.raises(ValueError):
        trace_record(out, record_id="a", location="f#1")
    assert trace_job.main(["--output", out, "--location", "nohash"]) == 2


def test_a_location_matches_however_the_local_path_is_spelled(curated_output):
    out, _, _ = curated_output
    row = ds.dataset(f"{out}/data").to_table().slice(0, 1).to_pylist()[0]
    uri = row["source_uri"]
    for spelling in {uri, os.path.abspath(uri), os.path.relpath(uri)}:
        story = trace_record(out, location=f"{spelling}#{row['source_index']}")
        assert story.status is TraceStatus.FOUND and story.sightings[0].row["id"] == row["id"]


def test_an_incomplete_or_mixed_output_is_not_traced(full_output, capsys):
    out, _ = full_output
    extra = os.path.join(out, "data", "part-00001-of-00002.parquet")  # another run's shard, not in the manifest
    with open(extra, "wb") as f:
        f.write(b"PAR1")
    assert trace_job.main(["--output", out, "doc-1"]) == 2
    assert "not a complete curation output: not listed in the manifest" in capsys.readouterr().err
    os.remove(extra)
    os.remove(os.path.join(out, "manifest.json"))
    assert trace_job.main(["--output", out, "doc-1"]) == 2
    assert "no manifest.json: the output is incomplete" in capsys.readouterr().err
