"""Detector.load refuses a model directory that is not what train_detector wrote."""

import json
import shutil

import pytest

from curation.detection.detector import MODEL_JSON, Detector


def test_load_refuses_a_model_bin_that_does_not_match(trained, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(trained[0], copy)
    metadata = json.loads((copy / MODEL_JSON).read_text())
    metadata["model_sha256"] = "0" * 64
    (copy / MODEL_JSON).write_text(json.dumps(metadata))
    with pytest.raises(ValueError, match="model_sha256"):
        Detector.load(str(copy))
