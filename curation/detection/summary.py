"""The detector's entry in a run's manifest, from its checked ``model.json``."""

from __future__ import annotations

from typing import Any


def detector_section(model_dir: str, metadata: dict[str, Any]) -> dict:
    """What a reader of the manifest needs to know about the detector that decided origins.

    ``metadata``: the model.json that load_detector checked (ScoreSyntheticOptions.metadata).
    """
    test = metadata.get("metrics", {}).get("test", {})
    return {
        "model_dir": model_dir,
        "sha256": metadata["model_sha256"],
        "preprocessing_version": metadata["preprocessing_version"],
        "real_below": metadata["thresholds"]["real_below"],
        "thresholds": metadata["thresholds"],
        "training_data": metadata.get("training_data", {}),
        "test_metrics": {"overall": test.get("overall"), "by_domain": test.get("by_domain", {})},
    }
