"""``pipelines.audit`` and ``pipelines.certify`` on one small curated run: the round trip and every bad labels file."""

import csv
import hashlib
import html
import json
import re
import shutil

import pyarrow.dataset as ds
import pytest

from curation.audit.sample import SAMPLE_COLUMNS
from curation.detection.training import train_detector, write_model_dir
from pipelines import audit, certify, curate
from tests.factories import FAST_CONFIG, generate_corpus

FLOOR = 0.3


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A run whose undeclared records the detector decides (a third declared), audited with 60 + 10 labels."""
    tmp = tmp_path_factory.mktemp("audit")
    docs = generate_corpus(240, seed=7)
    # A loose threshold (15% of synthetic validation documents under it) lets machine text pass as real.
    model, metadata = train_detector(docs, FAST_CONFIG, seed=3, max_synthetic_share=0.15)
    write_model_dir(model, metadata, str(tmp / "detector"))
    corpus = tmp / "corpus.jsonl"
    with corpus.open("w") as f:
        for i, d in enumerate(docs):
            f.write(json.dumps({"id": d.id, "text": d.text, **({"origin": d.label} if i % 3 == 0 else {})}) + "\n")
    out = tmp / "out"
    manifest = curate.run([
        "--input", str(corpus), "--origin-field", "origin", "--detector", str(tmp / "detector"),
        "--min-real-fraction", str(FLOOR), "--sample-fraction", "0.7", "--shard-rows", "40",
        "--no-near-dedup", "--topics", "0", "--output", str(out),
        # A derived run id hashes the input's path, and pytest numbers its temporary
        # directories per session: the audit's draws (and the labels' estimate) would move.
        "--run-id", "run-audit-test",
    ])
    assert audit.main(["--output", str(out), "--sample", "60", "--not-selected", "10"]) == 0
    sample = [json.loads(line) for line in (out / "audit" / "sample.jsonl").read_text().splitlines()]
    return {"tmp": tmp, "out": out, "manifest": manifest, "sample": sample,
            "truth": {d.id: d.label for d in docs}}


def write_labels(path, rows, header=("id", "label")):
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


def truth_rows(run):
    return [(row["id"], run["truth"][row["id"]]) for row in run["sample"]]


def written(out):
    return {name: (out / name).read_bytes() if (out / name).exists() else None
            for name in ("certification.json", "README.md", "report.html")}


def test_audit_draws_a_labelling_sample_from_every_shard_and_leaves_the_run_alone(run):
    out, manifest, sample = run["out"], run["manifest"], run["sample"]
    with (out / "audit" / "sample.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == SAMPLE_COLUMNS and {r["label"] for r in rows} == {""}
    assert [r["id"] for r in rows] == [r["id"] for r in sample]
    data = [r for r in sample if r["table"] == "data"]
    assert len(data) == 60 and len(sample) == 70
    assert all(r["text"] and r["origin_basis"] == "detector" and r["run_id"] == manifest["run_id"] for r in data)
    shards = manifest["tables"]["data"]["shards"]
    assert {r["shard"] for r in data} == {s["name"] for s in shards}
    for shard in shards:  # read, never rewritten
        assert hashlib.sha256((out / shard["path"]).read_bytes()).hexdigest() == shard["sha256"]


def test_audit_refuses_to_replace_a_sample_without_overwrite(run, capsys):
    assert audit.main(["--output", str(run["out"]), "--sample", "60", "--not-selected", "10"]) == 2
    assert "already holds an audit sample; pass --overwrite" in capsys.readouterr().err


def test_certify_from_true_labels_writes_every_section_and_exits_1_under_the_floor(run, capsys):
    out = run["out"]
    labels = write_labels(run["tmp"] / "truth.csv", truth_rows(run))
    assert certify.main(["--output", str(out), "--labels", labels]) == 1
    printed = capsys.readouterr()
    certification = json.loads((out / "certification.json").read_text())
    overall = certification["overall"]
    # What the labels say: machine text passed as real, so the certified share is under the labelled one.
    truth = run["truth"]
    real_undeclared = [r for r in run["sample"] if r["table"] == "data" and r["predicted_origin"] == "real"]
    machine = sum(truth[r["id"]] == "synthetic" for r in real_undeclared)
    assert certification["machine_share_of_undeclared_real"]["observed"] == machine > 0
    assert overall["certified_real_share"] < FLOOR <= overall["as_labelled_real_share"]
    assert certification["meets_floor"] is False and certification["labelled"] == {
        "data": 60, "not_selected": 10, "data_draws": 60}
    assert set(certification["shards"]) == {s["name"] for s in run["manifest"]["tables"]["data"]["shards"]}
    # The labels' own estimate is under the floor too: no number of labels can certify it.
    assert overall["estimated_real_share"] < FLOOR and certification["advice"]["labels_needed"] is None
    assert (f"under the floor of {100 * FLOOR:.1f}%: more labels cannot reach it (the estimate from the labels, "
            f"{100 * overall['estimated_real_share']:.1f}%, is under it)") in printed.err
    line = f"real share >= {100 * overall['certified_real_share']:.1f}% at 95% confidence, from 60 labelled records"
    assert line in printed.out
    card = (out / "README.md").read_text()
    assert "## Certified real share" in card and line in card and "under the floor" in card
    assert "## What came out" in card  # the rest of the card is still there
    report = (out / "report.html").read_text()
    assert "<h2>Certified real share</h2>" in report and html.escape(line) in report


def test_labels_that_certify_above_the_floor_exit_0_with_a_value_map(run, capsys):
    # A labeller who calls every sampled record human: no machine text, so the bound clears the floor.
    rows = [{"id": r["id"], "label": "human"} for r in run["sample"]]
    path = run["tmp"] / "human.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    args = ["--output", str(run["out"]), "--labels", str(path), "--label-values", "human=real,ai=synthetic"]
    assert certify.main(args) == 0
    certification = json.loads((run["out"] / "certification.json").read_text())
    assert certification["meets_floor"] and certification["overall"]["certified_real_share"] >= FLOOR
    assert certification["advice"] is None


def _other_record(run):
    """A record of the run that the audit did not sample."""
    ids = ds.dataset(run["out"] / "data").to_table(columns=["id"]).column("id").to_pylist()
    return next(i for i in ids if i not in {r["id"] for r in run["sample"]})


# Line numbers count the CSV header: the 70 sampled records are lines 2 to 71.
BAD_LABELS = {
    "unknown id": (lambda run, rows: rows + [("no-such-record", "real")],
                   "1 labelled id\\(s\\) are not records of run run-.*: 'no-such-record'"),
    "id not in the sample": (lambda run, rows: rows + [(_other_record(run), "real")],
                             "1 labelled id\\(s\\) are records of this run but not in its audit sample: .*hand-picked"),
    "duplicate": (lambda run, rows: rows + [rows[0]], "is labelled twice \\(lines 2 and 72\\); keep one"),
    "conflicting": (lambda run, rows: rows + [(rows[0][0], "real" if rows[0][1] == "synthetic" else "synthetic")],
                    "has conflicting labels: '(real|synthetic)' on line 2 and '(real|synthetic)' on line 72; keep one"),
    "value outside the map": (lambda run, rows: [(rows[0][0], "maybe")] + rows[1:],
                              "line 2: label 'maybe' of id .* is not in the label value map \\(real, synthetic\\)"),
    "empty file": (lambda run, rows: [], "holds no labels: fill in the label column"),
    "header only": (lambda run, rows: [], "holds no labels: fill in the label column"),
    "unlabelled records": (lambda run, rows: rows[:-3], "3 of the 70 sampled records have no label"),
}


@pytest.mark.parametrize("case", sorted(BAD_LABELS))
def test_bad_labels_exit_2_with_their_message_and_write_nothing(run, case, capsys):
    change, message = BAD_LABELS[case]
    labels = write_labels(run["tmp"] / f"{case}.csv", change(run, truth_rows(run)))
    if case == "empty file":
        (run["tmp"] / f"{case}.csv").write_bytes(b"")
    before = written(run["out"])
    assert certify.main(["--output", str(run["out"]), "--labels", labels]) == 2
    err = capsys.readouterr().err
    assert re.search(message, err) and err.count("\n") == 1, err
    assert written(run["out"]) == before


def test_labels_of_another_run_and_a_sample_of_another_run_are_refused(run, capsys):
    rows = [(i, label, "run-other") for i, label in truth_rows(run)]
    labels = write_labels(run["tmp"] / "other.csv", rows, header=("id", "label", "run_id"))
    assert certify.main(["--output", str(run["out"]), "--labels", labels]) == 2
    assert "the labels are for run run-other, but this output holds run run-" in capsys.readouterr().err
    # A sample drawn from another run, copied into this output.
    copy = run["tmp"] / "copy"
    shutil.copytree(run["out"], copy)
    design = json.loads((copy / "audit" / "design.json").read_text())
    (copy / "audit" / "design.json").write_text(json.dumps({**design, "run_id": "run-other"}))
    before = written(copy)
    truth = write_labels(run["tmp"] / "truth-copy.csv", truth_rows(run))
    assert certify.main(["--output", str(copy), "--labels", truth]) == 2
    err = capsys.readouterr().err
    assert "was drawn from run run-other, but" in err and "draw it again with python -m pipelines.audit" in err
    assert written(copy) == before


def test_a_run_counting_text_bytes_is_audited_by_byte_draws_and_certified_in_bytes(run, capsys):
    # The ratio unit comes from the manifest; a copy of the run declares bytes (as --ratio-unit bytes records it).
    copy = run["tmp"] / "bytes"
    shutil.copytree(run["out"], copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["config"]["ratio_unit"] = "bytes"
    (copy / "manifest.json").write_text(json.dumps(manifest))
    assert audit.main(["--output", str(copy), "--sample", "60", "--overwrite"]) == 0
    sample = [json.loads(line) for line in (copy / "audit" / "sample.jsonl").read_text().splitlines()]
    assert sum(r["draws"] for r in sample) == 60 and len(sample) <= 60
    labels = write_labels(run["tmp"] / "bytes.csv", [(r["id"], run["truth"][r["id"]]) for r in sample])
    certify.main(["--output", str(copy), "--labels", labels])
    certification = json.loads((copy / "certification.json").read_text())
    assert certification["unit"] == "bytes" and certification["labelled"]["data_draws"] == 60
    overall = certification["overall"]
    text_bytes = sum(sum(s["class_text_bytes"].values()) for s in manifest["tables"]["data"]["shards"])
    assert sum(overall["counts"].values()) == text_bytes
    assert "real share of the text >= " in capsys.readouterr().out


def test_an_audited_output_is_still_an_earlier_run_that_overwrite_may_replace(run):
    from curation import storage

    certify.main(["--output", str(run["out"]), "--labels", write_labels(run["tmp"] / "again.csv", truth_rows(run))])
    assert (run["out"] / "certification.json").exists() and (run["out"] / "audit" / "design.json").exists()
    attempt = storage.claim_output(str(run["out"]), overwrite=True, run_id="rerun")
    try:
        assert {"certification.json", "audit/sample.csv"} <= set(storage.replaceable_files(attempt))
    finally:
        attempt.release()


def test_audit_refuses_an_output_a_run_is_writing(run, capsys):
    lock = run["out"] / ".curation-lock"
    lock.write_text("{}")
    try:
        assert audit.main(["--output", str(run["out"]), "--sample", "10", "--overwrite"]) == 2
    finally:
        lock.unlink()
    assert "a run is writing there" in capsys.readouterr().err


def test_audit_and_certify_refuse_a_directory_that_is_not_a_complete_output(tmp_path, capsys):
    assert audit.main(["--output", str(tmp_path), "--sample", "10"]) == 2
    assert "is not a complete curation output" in capsys.readouterr().err
    assert certify.main(["--output", str(tmp_path), "--labels", str(tmp_path / "labels.csv")]) == 2
    assert "has no manifest.json" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
