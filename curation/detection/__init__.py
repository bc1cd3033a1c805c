"""Synthetic-text detection: a windowed fastText classifier with calibrated thresholds.

Pure modules: preprocess, labelled, split, options (TrainConfig, ScoreSyntheticOptions),
classifier (fastText training), scorer (exact vectorised scoring), detector (a checked
model directory, loaded), metrics, training (train, calibrate, measure), cli.
model_dir reads model directories through Beam's filesystems; the Beam wrapper
ScoreSynthetic lives in curation.detection.transforms.
"""

from curation.detection.labelled import LabelledDoc, LabelledFields, load_labelled
from curation.detection.detector import Detector
from curation.detection.options import TrainConfig
from curation.detection.preprocess import PREPROCESSING_VERSION
from curation.detection.training import train_detector, write_model_dir

__all__ = [
    "PREPROCESSING_VERSION",
    "Detector",
    "LabelledDoc",
    "LabelledFields",
    "TrainConfig",
    "load_labelled",
    "train_detector",
    "write_model_dir",
]
