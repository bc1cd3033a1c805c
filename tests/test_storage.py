"""Claiming, replacing and verifying an output directory (no pipeline)."""

import json
import os
import subprocess
import sys

import pytest
from apache_beam.io.filesystems import FileSystems

from curation import storage
from curation.provenance.manifest import build_manifest
from pipelines import verify
from tests.factories import data_record, snapshot, write_output, write_shard


def _stage_new_output(attempt, tmp_path):
    """Stages a different complete output (two data shards) the way the writer does."""
    staged = tmp_path / "staged"
    staged.mkdir()
    shards = [write_shard(staged, f"data/part-0000{j}-of-00002.parquet", [data_record(10 + 2 * i + j, "real") for i in range(3)])
              for j in range(2)]
    manifest = build_manifest(run_id="run-new", config={}, files=[{"uri": "u", "records": 6}], stage_counts={},
                              reasons={}, tables={"data": shards})
    (staged / storage.MANIFEST).write_text(json.dumps(manifest))
    (staged / storage.CARD_FILE).write_text("# new card\n")
    os.makedirs(os.path.dirname(attempt.staging), exist_ok=True)
    os.rename(staged, attempt.staging)
    return {"data": shards}


def test_overwrite_never_replaces_a_directory_that_is_not_an_earlier_output(tmp_path):
    app = tmp_path / "app"
    (app / "src").mkdir(parents=True)
    (app / "manifest.json").write_text('{"name": "my-app", "version": "1.0.0"}')
    (app / "src" / "app.js").write_text("console.log(1)")
    (app / "NOTES.md").write_text("notes")
    with pytest.raises(FileExistsError, match="not a curation manifest"):
        storage.claim_output(str(app), overwrite=True)
    # An earlier output with a file of someone else's in it is not replaced either.
    out = tmp_path / "out"
    write_output(out)
    (out / "NOTES.md").write_text("mine")
    (out / "data" / "keep.csv").write_text("a,b")
    with pytest.raises(FileExistsError, match=r"files a run does not write \(NOTES.md, data/keep.csv\)"):
        storage.claim_output(str(out), overwrite=True)
    # Nor an output of another schema version.
    other = tmp_path / "other"
    manifest = write_output(other)
    (other / storage.MANIFEST).write_text(json.dumps({**manifest, "schema_version": "0"}))
    with pytest.raises(FileExistsError, match="schema_version '0'"):
        storage.claim_output(str(other), overwrite=True)
    for directory in (app, out, other):
        assert not (directory / storage.LOCK).exists()
    assert sorted(snapshot(app)) == ["NOTES.md", "manifest.json", "src/app.js"]
    assert (out / "NOTES.md").read_text() == "mine"


def test_publish_replaces_an_earlier_output_with_the_manifest_moved_last(tmp_path, monkeypatch):
    out = tmp_path / "out"
    write_output(out)
    attempt = storage.claim_output(str(out), overwrite=True, run_id="run-new")
    tables = _stage_new_output(attempt, tmp_path)
    renames = []
    rename = FileSystems.rename
    monkeypatch.setattr(FileSystems, "rename", lambda s, d: (renames.append(list(d)), rename(s, d)))
    storage.publish(attempt, tables, [storage.CARD_FILE, storage.MANIFEST])
    assert renames[0] == [str(attempt.backup) + "/manifest.json"]  # the earlier output stops reading as complete first
    assert renames[-1] == [str(out / "manifest.json")]  # and the new one reads as complete only at the end
    assert sorted(snapshot(out)) == ["README.md", "data/part-00000-of-00002.parquet",
                                      "data/part-00001-of-00002.parquet", "manifest.json"]
    assert json.loads((out / "manifest.json").read_text())["run_id"] == "run-new"
    assert storage.verify_output(str(out)) == []


def test_publish_refuses_shards_that_failed_their_check_listing_every_problem(tmp_path):
    out = tmp_path / "out"
    write_output(out)
    before = snapshot(out)
    attempt = storage.claim_output(str(out), overwrite=True, run_id="run-new")
    tables = _stage_new_output(attempt, tmp_path)
    first, second = tables["data"]
    tables["data"] = [{**first, "problems": ["part-0: holds 1 rows, planned 2"]},
                      {**second, "problems": ["part-1: real fraction 0.5000 is below the floor 0.8"]}]
    with pytest.raises(storage.ShardVerificationError, match="(?s)planned 2.*below the floor 0.8"):
        storage.publish(attempt, tables, [storage.CARD_FILE, storage.MANIFEST])
    attempt.abandon()
    assert snapshot(out) == before  # nothing moved: the earlier output stays as it was


@pytest.mark.parametrize("failures", [1, 2])
def test_a_failed_replacement_leaves_the_earlier_output_as_it_was(tmp_path, monkeypatch, failures):
    out = tmp_path / "out"
    write_output(out)
    before = snapshot(out)
    attempt = storage.claim_output(str(out), overwrite=True, run_id="run-new")
    tables = _stage_new_output(attempt, tmp_path)
    rename = FileSystems.rename
    left = [failures]

    def fail_moving_a_manifest_in(sources, destinations):
        if destinations == [str(out / "manifest.json")] and left[0]:
            left[0] -= 1
            raise OSError("disk full")
        return rename(sources, destinations)

    monkeypatch.setattr(FileSystems, "rename", fail_moving_a_manifest_in)
    with pytest.raises(OSError if failures == 1 else storage.PublishError, match="disk full") as failed:
        storage.publish(attempt, tables, [storage.CARD_FILE, storage.MANIFEST])
    monkeypatch.undo()
    attempt.abandon()
    if failures == 1:  # moved back: no new file, no lock, no staging area left
        assert snapshot(out) == before
    else:  # the earlier output could not be moved back: it is kept aside, with the lock, and the error says where
        assert isinstance(failed.value.__cause__, OSError) and "move them back" in str(failed.value)
        assert snapshot(os.path.join(attempt.backup)) == {"manifest.json": before["manifest.json"]}
        assert attempt.holds_lock() and not (out / "manifest.json").exists()


def test_a_run_deletes_only_its_own_temporary_files(tmp_path):
    out = tmp_path / "out"
    write_output(out)
    (out / "_temporary").mkdir()
    (out / "_temporary" / "keep.txt").write_text("a Spark job's, or mine")
    with pytest.raises(FileExistsError, match="not empty"):
        storage.claim_output(str(out), overwrite=False)
    with pytest.raises(FileExistsError, match="_temporary/keep.txt"):
        storage.claim_output(str(out), overwrite=True)
    assert (out / "_temporary" / "keep.txt").read_text() == "a Spark job's, or mine"
    # Two attempts of one run id never share a staging area.
    empty = tmp_path / "empty"
    first = storage.claim_output(str(empty), overwrite=False, run_id="run-x")
    first.release()
    second = storage.claim_output(str(empty), overwrite=False, run_id="run-x")
    assert first.root != second.root and os.path.basename(first.root).startswith(".curation-tmp-run-x-")
    FileSystems.create(os.path.join(first.root, "new", "data", "f")).close()
    first.abandon()  # no longer holds the lock: leaves the second attempt's lock alone
    assert second.holds_lock()


def test_second_run_into_one_output_is_refused_naming_the_lock(tmp_path):
    out = tmp_path / "out"
    first = storage.claim_output(str(out), overwrite=False, run_id="run-a")
    staged = os.path.join(first.staging, "data", "part-00000-of-00001.parquet")
    storage.write_bytes(staged, b"first run's shard")
    with pytest.raises(FileExistsError, match=f"locked by {out / storage.LOCK}: run run-a .* is writing there"):
        storage.claim_output(str(out), overwrite=True, run_id="run-b")
    assert first.holds_lock() and storage.read_bytes(staged) == b"first run's shard"
    first.abandon()
    assert os.listdir(out) == []
    storage.claim_output(str(out), overwrite=False, run_id="run-b").release()


def test_a_stale_lock_is_reported_with_how_to_clear_it_and_kept(tmp_path):
    out = tmp_path / "out"
    killed = storage.claim_output(str(out), overwrite=False, run_id="run-killed")
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    owner = json.loads((out / storage.LOCK).read_text())
    (out / storage.LOCK).write_text(json.dumps({**owner, "pid": int(gone.stdout)}))
    with pytest.raises(FileExistsError, match=f"stale lock {out / storage.LOCK}: .* no longer running; delete") as refused:
        storage.claim_output(str(out), overwrite=False)
    assert killed.root in str(refused.value)
    assert (out / storage.LOCK).exists()


@pytest.mark.parametrize("local", [True, False])
def test_the_lock_is_created_only_if_absent(tmp_path, monkeypatch, local):
    # False: the check-write-read-back path of object stores (Beam's FileSystems has no create-if-absent).
    monkeypatch.setattr(storage, "_is_local", lambda path: local)
    lock = str(tmp_path / storage.LOCK)
    storage.create_exclusive(lock, b"first")
    with pytest.raises(FileExistsError):
        storage.create_exclusive(lock, b"second")
    assert storage.read_bytes(lock) == b"first"


def test_output_that_is_a_file_or_cannot_be_written_is_refused(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(FileExistsError, match="is an existing file"):
        storage.claim_output(str(tmp_path / "f"), overwrite=True)
    with pytest.raises(ValueError, match="cannot be created"):
        storage.claim_output(str(tmp_path / "f" / "out"), overwrite=False)
    assert (tmp_path / "f").read_text() == "x"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only directories")
def test_read_only_output_is_refused(tmp_path):
    (tmp_path / "ro").mkdir(mode=0o500)
    with pytest.raises(ValueError, match="not writable"):
        storage.claim_output(str(tmp_path / "ro"), overwrite=False)


def test_an_output_refusing_the_lock_file_is_not_writable(tmp_path, monkeypatch):
    # What a read-only directory does to a non-root user (the test above), as root.
    def denied(path, flags, mode=0o777):
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(storage.os, "open", denied)
    with pytest.raises(ValueError, match=r"is not writable: \[Errno 13\] Permission denied"):
        storage.claim_output(str(tmp_path), overwrite=False)


def test_verify_output_tells_a_complete_output_from_an_incomplete_one(tmp_path, capsys):
    out = tmp_path / "out"
    manifest = write_output(out)
    assert storage.verify_output(str(out)) == [] and verify.main([str(out)]) == 0
    shard = out / manifest["tables"]["data"]["shards"][0]["path"]
    data = shard.read_bytes()
    shard.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # same size, other bytes
    assert storage.verify_output(str(out), checksums=False) == []
    assert storage.verify_output(str(out)) == ["data/part-00000-of-00001.parquet: its sha256 differs from the manifest's"]
    shard.write_bytes(data)
    (out / "data" / "part-00001-of-00002.parquet").write_bytes(b"another run's")
    assert "not listed in the manifest" in storage.verify_output(str(out))[0]
    (out / storage.MANIFEST).unlink()
    assert "no manifest.json: the output is incomplete" in storage.verify_output(str(out))[0]
    assert verify.main([str(out)]) == 1 and "incomplete" in capsys.readouterr().out


def test_run_files_are_what_the_writer_names():
    assert storage.is_run_file("data/" + storage.shard_name(3, 100_000))
    assert storage.is_run_file(storage.MANIFEST) and storage.is_run_file("report.html")
    assert not storage.is_run_file("data/part-3-of-4.parquet") and not storage.is_run_file("src/part-00000-of-00001.parquet")
