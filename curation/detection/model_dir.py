"""Model directories on any Beam filesystem (local, gs://, ...): copying, and loading them checked.

fastText loads from local files only, so a model is fetched into a temporary
directory first; errors name the directory the user gave, never that copy.
"""

from __future__ import annotations

import shutil
import tempfile

from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from curation.detection.detector import MODEL_BIN, MODEL_JSON, Detector, InvalidModelError

_RAW = CompressionTypes.UNCOMPRESSED


def copy_model_dir(source_dir: str, target_dir: str) -> str:
    """Copies model.bin and model.json between any Beam filesystems (local, gs://, ...).

    Used to publish a trained model and, in reverse, to fetch one to a local
    directory, the only place fastText loads from.
    """
    for name in (MODEL_BIN, MODEL_JSON):
        with FileSystems.open(FileSystems.join(source_dir, name), compression_type=_RAW) as source, FileSystems.create(
            FileSystems.join(target_dir, name), compression_type=_RAW
        ) as target:
            shutil.copyfileobj(source, target, 1 << 20)
    return target_dir


def load_detector(model_dir: str) -> Detector:
    """The detector in ``model_dir``, with every check of ``Detector.load``; InvalidModelError names model_dir.

    The one way a job, a worker or ScoreSyntheticOptions reads a model directory.
    """
    missing = [name for name in (MODEL_JSON, MODEL_BIN) if not FileSystems.exists(FileSystems.join(model_dir, name))]
    if missing:
        gone = len(missing) == 2 and not FileSystems.exists(model_dir)
        problem = "no such directory" if gone else "no " + " and no ".join(missing)
        raise InvalidModelError(f"detector {model_dir}: {problem}; train one with python -m pipelines.train_detector")
    # fastText reads model.bin whole, so the local copy is not needed after loading.
    with tempfile.TemporaryDirectory(prefix="curation-detector-") as local_dir:
        return Detector.load(copy_model_dir(model_dir, local_dir), name=model_dir)
