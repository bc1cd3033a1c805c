"""The detector's entry in a run's manifest, read from its ``model.json``."""

from __future__ import annotations

from apache_beam.io.filesystems import FileSystems

from curation.detection.model import MODEL_JSON
from curation.writing.files import read_json


def detector_section(model_dir: str) -> dict:
    """What a reader of the manifest needs to know about the detector that decided origins."""
    meta = read_json(FileSystems.join(model_dir, MODEL_JSON))
    test = meta.get("metrics", {}).get("test", {})
    return {
        "model_dir": model_dir,
        "sha256": meta["model_sha256"],
        "preprocessing_version": meta["preprocessing_version"],
        "real_below": meta["thresholds"]["real_below"],
        "thresholds": meta["thresholds"],
        "training_data": meta.get("training_data", {}),
        "test_metrics": {"overall": test.get("overall"), "by_domain": test.get("by_domain", {})},
    }
