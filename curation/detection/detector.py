"""The Detector: a model directory, checked and loaded.

A model directory holds ``model.bin`` (fastText) and ``model.json`` (what it is,
how it was trained, how well it does, its calibrated thresholds).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from typing import Any, Sequence

import fasttext
import numpy as np

from curation.detection import preprocess
from curation.detection.classifier import REAL_LABEL, SYNTHETIC_LABEL
from curation.detection.options import TrainConfig
from curation.detection.scorer import LinearScorer
from curation.schema import Origin

MODEL_BIN = "model.bin"
MODEL_JSON = "model.json"
MODEL_FORMAT_VERSION = "1"


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class InvalidModelError(ValueError):
    """A model directory this library must not score with, and why."""


def _number(container: dict, key: str, low: float, high: float, what: str) -> float:
    value = container.get(key)
    # bool is an int to Python, and NaN fails every comparison: both are refused here.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise InvalidModelError(f"{what}{key} must be a number in [{low:g}, {high:g}], got {value!r}")
    return float(value)


def check_metadata(metadata: Any) -> None:
    """Raises InvalidModelError unless ``model.json`` holds what train_detector writes, in range.

    The origin rule trusts ``thresholds.real_below`` blindly (a score below it counts
    as real), so it must be a score the scorer can produce: scores are P(synthetic),
    in [0, 1] (5.0 would count every undeclared record as real). The calibration
    figures must agree with how it was calibrated.
    """
    if not isinstance(metadata, dict):
        raise InvalidModelError(f"{MODEL_JSON} must hold a JSON object, got a {type(metadata).__name__}")
    missing = [k for k in ("format_version", "model_sha256", "preprocessing_version", "labels", "hyperparameters",
                           "thresholds") if k not in metadata]
    if missing:
        raise InvalidModelError(f"{MODEL_JSON} lacks {', '.join(missing)}")
    if metadata["format_version"] != MODEL_FORMAT_VERSION:
        raise InvalidModelError(
            f"format_version {metadata['format_version']!r} is not this library's {MODEL_FORMAT_VERSION!r}: retrain the detector"
        )
    if not (isinstance(metadata["model_sha256"], str) and re.fullmatch("[0-9a-f]{64}", metadata["model_sha256"])):
        raise InvalidModelError(f"model_sha256 must be 64 lowercase hex digits, got {metadata['model_sha256']!r}")
    if metadata["preprocessing_version"] != preprocess.PREPROCESSING_VERSION:
        raise InvalidModelError(
            f"preprocessing version {metadata['preprocessing_version']!r} differs from this library's "
            f"{preprocess.PREPROCESSING_VERSION!r}: retrain the detector"
        )
    labels = metadata["labels"]
    if not isinstance(labels, list) or sorted(map(str, labels)) != [Origin.REAL.value, Origin.SYNTHETIC.value]:
        raise InvalidModelError(f"labels must be [\"real\", \"synthetic\"], got {labels!r}")
    hyperparameters = metadata["hyperparameters"]
    fields = sorted(f.name for f in dataclasses.fields(TrainConfig))
    if not isinstance(hyperparameters, dict) or sorted(hyperparameters) != fields:
        raise InvalidModelError(f"hyperparameters must be an object with exactly {', '.join(fields)}")
    for name, value in hyperparameters.items():
        kinds = (int, float) if name == "lr" else (int,)
        if isinstance(value, bool) or not isinstance(value, kinds):
            raise InvalidModelError(
                f"hyperparameters.{name} must be {'a number' if name == 'lr' else 'an integer'}, got {value!r}"
            )
    try:
        TrainConfig(**hyperparameters)
    except ValueError as err:
        raise InvalidModelError(f"hyperparameters: {err}") from None
    # Optional, reported in the run's manifest.
    for part, inside in (("training_data", metadata), ("metrics", metadata), ("test", metadata.get("metrics", {}))):
        if part in inside and not isinstance(inside[part], dict):
            raise InvalidModelError(f"{part} must be an object, got {inside[part]!r}")
    thresholds = metadata["thresholds"]
    if not isinstance(thresholds, dict):
        raise InvalidModelError(f"thresholds must be an object, got {thresholds!r}")
    _number(thresholds, "real_below", 0.0, 1.0, "thresholds.")
    target = _number(thresholds, "max_synthetic_share_below", 0.0, 1.0, "thresholds.")
    documents = thresholds.get("validation_synthetic_documents")
    if isinstance(documents, bool) or not isinstance(documents, int) or documents < 1:
        raise InvalidModelError(f"thresholds.validation_synthetic_documents must be an integer >= 1, got {documents!r}")
    # Calibration puts at most the target share of synthetic validation documents below real_below.
    below = _number(thresholds, "validation_synthetic_share_below", 0.0, target, "thresholds.")
    _number(thresholds, "synthetic_share_below_upper_95", below, 1.0, "thresholds.")
    _number(thresholds, "validation_real_share_below", 0.0, 1.0, "thresholds.")


def _read_metadata(path: str) -> Any:
    try:
        with open(path, "rb") as f:
            return json.loads(f.read().decode("utf-8"))
    except FileNotFoundError:
        raise InvalidModelError(f"no {MODEL_JSON}: train one with python -m pipelines.train_detector") from None
    except ValueError as err:  # invalid JSON or UTF-8
        raise InvalidModelError(f"{MODEL_JSON} is not valid JSON: {err}") from None


class Detector:
    """A trained detector: scores texts with P(synthetic). Load with ``Detector.load(local_dir)``."""

    def __init__(self, model: fasttext.FastText._FastText, metadata: dict[str, Any]):
        self.model = model
        self.metadata = metadata
        self.config = TrainConfig(**metadata["hyperparameters"])
        self.scorer = LinearScorer(model, self.config.word_ngrams)

    @classmethod
    def load(cls, model_dir: str, name: str | None = None) -> "Detector":
        """Loads a local model directory, refusing one that is not exactly what train_detector wrote.

        Checks model.json (check_metadata), model.bin against its sha256, that
        fastText loads it and that it is the model model.json describes.
        Failures raise InvalidModelError naming ``name``: the directory as the
        user gave it, when ``model_dir`` is a local copy.
        """
        try:
            return cls._load(model_dir)
        except InvalidModelError as err:
            raise InvalidModelError(f"detector {name or model_dir}: {err}") from None

    @classmethod
    def _load(cls, model_dir: str) -> "Detector":
        metadata = _read_metadata(os.path.join(model_dir, MODEL_JSON))
        check_metadata(metadata)
        bin_path = os.path.join(model_dir, MODEL_BIN)
        try:
            sha256 = file_sha256(bin_path)
        except FileNotFoundError:
            raise InvalidModelError(f"no {MODEL_BIN}: train one with python -m pipelines.train_detector") from None
        if sha256 != metadata["model_sha256"]:
            raise InvalidModelError(f"{MODEL_BIN} does not match the model_sha256 in {MODEL_JSON}")
        try:
            model = fasttext.load_model(bin_path)
        except ValueError as err:  # "... has wrong file format!"
            raise InvalidModelError(f"fastText cannot load {MODEL_BIN}: {str(err).replace(bin_path, MODEL_BIN)}") from None
        labels = sorted(model.get_labels())
        if labels != sorted([REAL_LABEL, SYNTHETIC_LABEL]) or "</s>" not in model.get_words():
            raise InvalidModelError(f"{MODEL_BIN} is not a real/synthetic classifier (labels {labels})")
        if model.get_dimension() != metadata["hyperparameters"]["dim"]:
            raise InvalidModelError(
                f"{MODEL_BIN} has dimension {model.get_dimension()}, {MODEL_JSON} says {metadata['hyperparameters']['dim']}"
            )
        return cls(model, metadata)

    @property
    def detector_id(self) -> str:
        return self.metadata["model_sha256"]

    @property
    def real_below(self) -> float:
        return float(self.metadata["thresholds"]["real_below"])

    def score(self, texts: Sequence[str]) -> np.ndarray:
        return self.scorer.scores(texts)
