"""End-to-end tests of ``python -m pipelines.curate``."""

import json
import os
import shutil
import subprocess
import sys

import pyarrow.dataset as ds
import pytest

from curation import storage
from curation.schema import RECORD_SCHEMA, REJECTED_SCHEMA
from pipelines import curate
from tests.bad_input import MAX_TEXT_BYTES, write_mixed_corpus
from tests.factories import snapshot

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _args(corpus, out, *extra):
    return [
        "--input", str(corpus), "--output", str(out), "--origin-field", "origin",
        "--origin-values", "human=real,ai=synthetic", "--max-text-bytes", str(MAX_TEXT_BYTES),
        "--shard-rows", "300", *extra,
    ]


@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mixed")
    corpus = tmp / "mixed.jsonl"
    bad = write_mixed_corpus(corpus, n_good=1000)
    manifest = curate.run(_args(corpus, tmp / "out"))
    return tmp, corpus, bad, manifest


def test_bad_input_lands_in_rejected_and_only_good_records_are_written(mixed_run):
    tmp, _, bad, manifest = mixed_run
    data = ds.dataset(tmp / "out" / "data").to_table()
    assert sorted(data.column("id").to_pylist()) == sorted(f"good-{i}" for i in range(1000))
    rejected = ds.dataset(tmp / "out" / "rejected").to_table().to_pylist()
    assert sorted(r["reason"] for r in rejected) == sorted(bad)
    assert all(r["detail"] and r["source_uri"].endswith("mixed.jsonl") for r in rejected)
    assert manifest["accounting"] == {
        "records_read": 1000 + len(bad), "output": 1000, "rejected": len(bad),
        "duplicate": 0, "not_selected": 0, "balanced": True,
    }
    assert manifest["reasons"]["rejected"] == {reason: 1 for reason in bad}


def test_shards_read_back_with_the_documented_schema(mixed_run):
    tmp, _, _, manifest = mixed_run
    data = ds.dataset(tmp / "out" / "data", format="parquet")
    assert data.schema.remove_metadata() == RECORD_SCHEMA.remove_metadata()
    assert ds.dataset(tmp / "out" / "rejected").schema.remove_metadata() == REJECTED_SCHEMA.remove_metadata()
    shards = manifest["tables"]["data"]["shards"]
    assert [s["rows"] for s in shards] == [250, 250, 250, 250]
    for shard in shards:
        assert shard["classes"] == {"real": 125, "synthetic": 125}
        assert os.path.getsize(tmp / "out" / shard["path"]) == shard["bytes"]


def test_same_config_same_bytes_in_another_directory(mixed_run):
    tmp, corpus, _, manifest = mixed_run
    again = curate.run(_args(corpus, tmp / "again"))
    assert again["tables"] == manifest["tables"]
    for shard in manifest["tables"]["data"]["shards"]:
        assert (tmp / "out" / shard["path"]).read_bytes() == (tmp / "again" / shard["path"]).read_bytes()


def test_cli_refuses_a_non_empty_output_then_overwrites_an_earlier_run(mixed_run):
    tmp, corpus, _, _ = mixed_run
    cmd = [sys.executable, "-m", "pipelines.curate", *_args(corpus, tmp / "out")]
    refused = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    assert refused.returncode == 2 and "not empty" in refused.stderr
    done = subprocess.run([*cmd, "--overwrite"], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "1012 records read" in done.stdout and "balanced" in done.stdout
    assert json.loads((tmp / "out" / "manifest.json").read_text())["accounting"]["balanced"]


def test_dedup_job_writes_survivors_duplicates_and_a_balanced_manifest(tmp_path):
    from pipelines import dedup

    base = "the quick brown fox jumps over the lazy dog near the quiet river bank at dawn today"
    rows = [
        {"id": "a", "text": base},
        {"id": "b", "text": base.upper()},  # exact after normalisation
        {"id": "c", "text": base + " again"},  # near
        {"id": "d", "text": "an unrelated sentence about tables chairs lamps and windows in a room"},
    ]
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert dedup.main(["--input", str(corpus), "--output", str(tmp_path / "out")]) == 0
    kept = sorted(ds.dataset(tmp_path / "out" / "data").to_table().column("id").to_pylist())
    removed = {r["id"]: r for r in ds.dataset(tmp_path / "out" / "duplicates").to_table().to_pylist()}
    assert len(kept) == 2 and "d" in kept and set(removed) | set(kept) == {"a", "b", "c", "d"}
    assert {r["kind"] for r in removed.values()} == {"exact", "near"}
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["accounting"]["balanced"] and manifest["accounting"]["duplicate"] == 2
    assert manifest["counts"] == {"dedup.near.kept_unverified": 0}


MULTI_PROCESSING = ["--direct_num_workers", "2", "--direct_running_mode", "multi_processing"]


@pytest.mark.parametrize(
    "case, message",
    [
        ("directory_input", "is a directory: name its files"),
        ("missing_detector", "no such directory; train one with python -m pipelines.train_detector"),
        ("sample_size_0", "sample_size must be at least 1"),
    ],
)
def test_bad_launches_fail_with_one_line_before_any_work(tmp_path, capsys, case, message):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text('{"id": "a", "text": "a document", "origin": "human"}\n')
    extra = {
        "directory_input": ["--input", str(tmp_path / "x.jsonl")],
        "missing_detector": ["--detector", str(tmp_path / "no-model"), *MULTI_PROCESSING],
        "sample_size_0": ["--sample-size", "0"],
    }[case]
    (tmp_path / "x.jsonl").mkdir()
    assert curate.main([*_args(corpus, tmp_path / "out"), *extra]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("error: ") and message in line
    assert not (tmp_path / "out").exists()


def test_an_error_of_ours_in_a_worker_process_ends_the_job_with_one_line(tmp_path):
    """Multi-process workers' exceptions reach the launcher as a RuntimeError holding a traceback."""
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("".join(json.dumps({"id": f"d{i}", "text": f"document number {i}"}) + "\n" for i in range(4)))
    cmd = [sys.executable, "-m", "pipelines.curate", "--input", str(corpus), "--output", str(tmp_path / "out"),
           "--min-real-fraction", "0.5", "--no-exact-dedup", "--no-near-dedup", "--topics", "0",
           "--direct_num_workers", "1", "--direct_running_mode", "multi_processing"]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 2, done.stderr[-3000:]
    # Beam's worker processes log their own tracebacks; the job's last word is one line.
    assert done.stderr.splitlines()[-1].startswith("error: cannot tell whether a record is real or synthetic")


def test_a_refused_run_touches_nothing_in_the_output(mixed_run, tmp_path, capsys):
    _, corpus, _, _ = mixed_run
    out = tmp_path / "out"
    (out / "_temporary").mkdir(parents=True)
    (out / "_temporary" / "keep.txt").write_text("the name Spark and Hadoop use")
    assert curate.main(_args(corpus, out)) == 2
    assert "not empty" in capsys.readouterr().err
    assert (out / "_temporary" / "keep.txt").read_text() == "the name Spark and Hadoop use"
    assert sorted(os.listdir(out)) == ["_temporary"]


def test_a_second_run_into_an_output_in_use_is_refused_naming_the_lock(mixed_run, tmp_path, capsys):
    _, corpus, _, _ = mixed_run
    out = tmp_path / "out"
    first = storage.claim_output(str(out), overwrite=False, run_id="run-first")
    storage.write_bytes(os.path.join(first.staging, "data", "part-00000-of-00001.parquet"), b"first run's")
    assert curate.main(_args(corpus, out)) == 2
    [line] = capsys.readouterr().err.splitlines()
    assert f"locked by {out / storage.LOCK}: run run-first" in line
    assert first.holds_lock() and os.listdir(first.staging) == ["data"]


def test_an_output_that_is_a_file_or_under_one_is_refused_at_launch(tmp_path, capsys):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text('{"id": "a", "text": "x"}\n')
    (tmp_path / "f").write_text("not a directory")
    assert curate.main(["--input", str(corpus), "--output", str(tmp_path / "f")]) == 2
    assert curate.main(["--input", str(corpus), "--output", str(tmp_path / "f" / "out")]) == 2
    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 2 and "is an existing file" in errors[0] and "cannot be created" in errors[1]
    assert (tmp_path / "f").read_text() == "not a directory"


def test_a_failed_overwrite_keeps_the_earlier_output(mixed_run, tmp_path, capsys):
    tmp, corpus, _, manifest = mixed_run
    out = tmp_path / "out"
    shutil.copytree(tmp / "out", out)
    before = snapshot(out)
    # 1000 rows cannot fill 5000 shards: the run fails once the rows are counted, before any shard is written.
    assert curate.main([*_args(corpus, out), "--overwrite", "--num-shards", "5000"]) == 2
    assert "num_shards 5000 is more data shards than the 1000 rows" in capsys.readouterr().err
    assert snapshot(out) == before  # no staging area, no lock, every earlier file as it was
    assert storage.verify_output(str(out)) == [] and json.loads(before["manifest.json"]) == manifest
