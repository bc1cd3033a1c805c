"""Train, calibrate and measure a detector: the logic behind pipelines.train_detector."""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, Sequence

import fasttext

from curation.detection import metrics, preprocess
from curation.detection.labelled import LabelledDoc, fingerprint
from curation.detection.classifier import train_model
from curation.detection.detector import MODEL_BIN, MODEL_FORMAT_VERSION, MODEL_JSON, file_sha256
from curation.detection.options import TrainConfig
from curation.detection.scorer import LinearScorer
from curation.detection.split import stratified_split
from curation.schema import Origin
from curation.stats import share_upper_bound

DEFAULT_MAX_SYNTHETIC_SHARE = 0.01


def measure(scores: Sequence[float], docs: Sequence[LabelledDoc], real_below: float | None) -> dict[str, Any]:
    """Metrics overall, per domain and per generator for docs already scored."""
    return metrics.slice_metrics(
        [d.is_synthetic for d in docs],
        scores,
        [d.domain for d in docs],
        [d.generator for d in docs],
        real_below,
    )


def train_detector(
    docs: Sequence[LabelledDoc],
    config: TrainConfig = TrainConfig(),
    seed: int = 0,
    max_synthetic_share: float = DEFAULT_MAX_SYNTHETIC_SHARE,
) -> tuple[fasttext.FastText._FastText, dict[str, Any]]:
    """Trains on the train split, calibrates ``real_below`` on validation, measures on test.

    Returns the model and its model.json content (without ``model_sha256``,
    which ``write_model_dir`` adds once model.bin exists).
    """
    split = stratified_split(docs, seed)
    model = train_model(split.train, config, seed)
    scorer = LinearScorer(model, config.word_ngrams)
    validation_scores = scorer.scores([d.text for d in split.validation])
    synthetic_validation = [s for s, d in zip(validation_scores, split.validation) if d.is_synthetic]
    real_below = metrics.real_below_threshold(synthetic_validation, max_synthetic_share)
    test_scores = scorer.scores([d.text for d in split.test])
    validation_summary = metrics.summarize([d.is_synthetic for d in split.validation], validation_scores, real_below)
    metadata = {
        "format_version": MODEL_FORMAT_VERSION,
        "labels": [Origin.REAL.value, Origin.SYNTHETIC.value],
        "score": "P(synthetic): sigmoid of the whole document's log-odds (model trained on fixed-size token windows)",
        "preprocessing_version": preprocess.PREPROCESSING_VERSION,
        "hyperparameters": dataclasses.asdict(config),
        "seed": seed,
        "training_data": {
            "fingerprint": fingerprint(docs),
            "n_documents": len(docs),
            "n_train": len(split.train),
            "n_validation": len(split.validation),
            "n_test": len(split.test),
        },
        "thresholds": {
            "real_below": real_below,
            "max_synthetic_share_below": max_synthetic_share,
            "validation_synthetic_share_below": validation_summary["synthetic_share_below_real_below"],
            "validation_synthetic_documents": len(synthetic_validation),
            # What the validation set can promise: a small one cannot pin a 1% quantile.
            "synthetic_share_below_upper_95": share_upper_bound(
                sum(score < real_below for score in synthetic_validation), len(synthetic_validation)
            ),
            "validation_real_share_below": validation_summary["real_share_below_real_below"],
        },
        "metrics": {"test": measure(test_scores, split.test, real_below)},
    }
    return model, metadata


def write_model_dir(model: fasttext.FastText._FastText, metadata: dict[str, Any], local_dir: str) -> dict[str, Any]:
    """Saves model.bin and model.json (with model.bin's sha256) into a local directory."""
    os.makedirs(local_dir, exist_ok=True)
    bin_path = os.path.join(local_dir, MODEL_BIN)
    model.save_model(bin_path)
    metadata = {"model_sha256": file_sha256(bin_path), **metadata}
    with open(os.path.join(local_dir, MODEL_JSON), "w", encoding="utf-8") as f:
        json.dump(metadata, f, indent=2, sort_keys=True, allow_nan=False)
        f.write("\n")
    return metadata
