"""Synthetic-text detection: a windowed fastText classifier with calibrated thresholds.

Pure modules: preprocess, labelled, split, model, metrics, training, cli.
The Beam wrapper ScoreSynthetic lives in curation.detection.transforms.
"""

from curation.detection.labelled import LabelledDoc, LabelledFields, load_labelled
from curation.detection.model import Detector, TrainConfig
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
