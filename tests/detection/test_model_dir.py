"""load_detector checks a whole model directory before anything is scored, and names the user's path."""

import json
import math
import shutil

import pytest

from curation.detection.detector import MODEL_BIN, MODEL_JSON, InvalidModelError, file_sha256
from curation.detection.model_dir import load_detector
from curation.detection.options import ScoreSyntheticOptions


@pytest.fixture
def model_copy(trained, tmp_path):
    copy = tmp_path / "my-detector"
    shutil.copytree(trained[0], copy)
    return copy


_DELETE = object()


def _edit(metadata, path, value):
    *parents, last = path.split(".")
    for key in parents:
        metadata = metadata[key]
    if value is _DELETE:
        del metadata[last]
    else:
        metadata[last] = value


@pytest.mark.parametrize(
    "path, value, message",
    [
        ("thresholds.real_below", 5.0, r"thresholds.real_below must be a number in \[0, 1\], got 5.0"),
        ("thresholds.real_below", -0.5, r"thresholds.real_below must be a number in \[0, 1\]"),
        ("thresholds.real_below", math.nan, r"thresholds.real_below must be a number in \[0, 1\], got nan"),
        ("thresholds.real_below", "0.5", r"thresholds.real_below must be a number"),
        ("thresholds.real_below", True, r"thresholds.real_below must be a number"),
        ("thresholds.real_below", _DELETE, r"thresholds.real_below must be a number .* got None"),
        ("thresholds.validation_synthetic_share_below", 0.5,
         r"thresholds.validation_synthetic_share_below must be a number in \[0, 0.01\]"),
        ("thresholds.validation_synthetic_documents", 0, r"thresholds.validation_synthetic_documents must be an integer >= 1"),
        ("thresholds", [0.5], "thresholds must be an object"),
        ("preprocessing_version", "0", "preprocessing version '0' differs from this library's .*retrain"),
        ("format_version", "2", "format_version '2'"),
        ("model_sha256", 7, "model_sha256 must be 64 lowercase hex digits"),
        ("labels", ["human", "ai"], "labels must be"),
        ("hyperparameters.dim", 0, "hyperparameters: dim must be >= 1"),
        ("hyperparameters.dim", 16.0, "hyperparameters.dim must be an integer"),
        ("hyperparameters.epoch", _DELETE, "hyperparameters must be an object with exactly"),
        ("metrics", [], "metrics must be an object"),
        ("hyperparameters", _DELETE, "model.json lacks hyperparameters"),
    ],
)
def test_a_tampered_model_json_is_refused_naming_the_field(model_copy, path, value, message):
    metadata = json.loads((model_copy / MODEL_JSON).read_text())
    _edit(metadata, path, value)
    (model_copy / MODEL_JSON).write_text(json.dumps(metadata))
    with pytest.raises(InvalidModelError, match=f"^detector {model_copy}: {message}"):
        load_detector(str(model_copy))


@pytest.mark.parametrize(
    "content, message",
    [
        ("[1, 2]", "model.json must hold a JSON object, got a list"),
        ("{oops", "model.json is not valid JSON"),
        (b"\xff\xfe", "model.json is not valid JSON"),
    ],
)
def test_a_model_json_that_is_not_an_object_is_refused(model_copy, content, message):
    target = model_copy / MODEL_JSON
    target.write_bytes(content) if isinstance(content, bytes) else target.write_text(content)
    with pytest.raises(InvalidModelError, match=f"^detector {model_copy}: {message}"):
        load_detector(str(model_copy))


def test_a_model_bin_is_checked_against_its_sha256_and_loaded(model_copy):
    (model_copy / MODEL_BIN).write_bytes(b"not a fastText model")
    with pytest.raises(InvalidModelError, match=f"^detector {model_copy}: model.bin does not match the model_sha256"):
        load_detector(str(model_copy))
    # Recorded hash and file agree, but fastText cannot read it: the message names the user's file, not a copy.
    metadata = json.loads((model_copy / MODEL_JSON).read_text())
    metadata["model_sha256"] = file_sha256(str(model_copy / MODEL_BIN))
    (model_copy / MODEL_JSON).write_text(json.dumps(metadata))
    with pytest.raises(InvalidModelError) as refused:
        load_detector(str(model_copy))
    assert str(refused.value) == f"detector {model_copy}: fastText cannot load model.bin: model.bin has wrong file format!"


def test_missing_directories_and_files_are_named(model_copy, tmp_path):
    with pytest.raises(InvalidModelError, match=f"^detector {tmp_path / 'nowhere'}: no such directory; train one"):
        load_detector(str(tmp_path / "nowhere"))
    (model_copy / MODEL_BIN).unlink()
    with pytest.raises(InvalidModelError, match=f"^detector {model_copy}: no model.bin; train one"):
        ScoreSyntheticOptions(model_dir=str(model_copy))


def test_every_job_taking_a_detector_refuses_a_bad_one_at_launch(model_copy, tmp_path, capsys):
    from pipelines import curate, evaluate_detector, score

    metadata = json.loads((model_copy / MODEL_JSON).read_text())
    metadata["thresholds"]["real_below"] = 5.0  # would count every undeclared record as real
    (model_copy / MODEL_JSON).write_text(json.dumps(metadata))
    corpus = tmp_path / "c.jsonl"
    corpus.write_text('{"id": "a", "text": "a document", "label": "real"}\n')
    common = ["--input", str(corpus), "--output", str(tmp_path / "out")]
    runs = [
        (curate.main, [*common, "--detector", str(model_copy), "--min-real-fraction", "0.8",
                       "--direct_num_workers", "2", "--direct_running_mode", "multi_processing"]),
        (score.main, [*common, "--detector", str(model_copy)]),
        (evaluate_detector.main, ["--input", str(corpus), "--model", str(model_copy)]),
    ]
    for job, argv in runs:
        assert job(argv) == 2
        (line,) = capsys.readouterr().err.splitlines()
        assert line == f"error: detector {model_copy}: thresholds.real_below must be a number in [0, 1], got 5.0"
    assert not (tmp_path / "out").exists()
