"""CLI round trip: train_detector -> score -> evaluate_detector, as a user would chain them."""

import json

import pyarrow.dataset as ds

from pipelines import evaluate_detector, score, train_detector
from tests.factories import generate_corpus


def test_train_score_evaluate_round_trip(tmp_path, capsys):
    docs = generate_corpus(n=240, seed=11)
    labelled = tmp_path / "labelled.jsonl"
    with open(labelled, "w") as f:
        for d in docs:
            f.write(json.dumps({"id": d.id, "text": d.text, "label": d.label, "domain": d.domain}) + "\n")
    model_dir = tmp_path / "model"
    train_detector.main(["--input", str(labelled), "--output", str(model_dir), "--label-map", "real=real,synthetic=synthetic",
                         "--generator-field", "", "--epoch", "5", "--dim", "16", "--window-tokens", "32"])
    model = json.loads((model_dir / "model.json").read_text())

    # Score the same documents with half of the labels withheld, as unlabelled web text.
    unlabelled = tmp_path / "web.jsonl"
    with open(unlabelled, "w") as f:
        for i, d in enumerate(docs):
            row = {"id": d.id, "text": d.text, **({"label": d.label} if i % 2 else {})}
            f.write(json.dumps(row) + "\n")
    out = tmp_path / "scored"
    assert score.main(["--input", str(unlabelled), "--origin-field", "label", "--detector", str(model_dir),
                       "--output", str(out)]) == 0
    rows = ds.dataset(out / "data").to_table().to_pylist()
    assert len(rows) == len(docs)
    assert all(0.0 <= r["synthetic_score"] <= 1.0 and r["detector_id"] == model["model_sha256"] for r in rows)
    for r in rows:
        if r["declared_origin"] is None:
            expected = "real" if r["synthetic_score"] < model["thresholds"]["real_below"] else "synthetic"
            assert (r["origin"], r["origin_basis"]) == (expected, "detector")
        else:
            assert (r["origin"], r["origin_basis"]) == (r["declared_origin"], "declared")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["detector"]["sha256"] == model["model_sha256"]

    report = tmp_path / "metrics.json"
    evaluate_detector.main(["--input", str(labelled), "--model", str(model_dir), "--label-map",
                            "real=real,synthetic=synthetic", "--generator-field", "", "--output", str(report)])
    assert json.loads(report.read_text())["metrics"]["overall"]["n"] == len(docs)
    assert "essays" in capsys.readouterr().out
