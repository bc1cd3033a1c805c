"""Beam wrapper of the detector: ScoreSynthetic adds synthetic_score and detector_id."""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from typing import Any, Iterator

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.utils import shared

from curation.checks import expect_options
from curation.detection.model import MODEL_BIN, MODEL_JSON, Detector, LinearScorer

_COUNTERS = "curation.detection"
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


@dataclasses.dataclass(frozen=True)
class ScoreSyntheticOptions:
    """model_dir: a directory (local or gs://...) written by pipelines.train_detector.
    batch_size: documents scored per vectorised call; smaller ones cost more per document.
    """

    model_dir: str
    batch_size: int = LinearScorer.BATCH

    def __post_init__(self) -> None:
        if not self.model_dir:
            raise ValueError("model_dir is required: the directory written by pipelines.train_detector")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        missing = [n for n in (MODEL_BIN, MODEL_JSON) if not FileSystems.exists(FileSystems.join(self.model_dir, n))]
        if missing:
            raise ValueError(
                f"model_dir {self.model_dir!r} lacks {', '.join(missing)}: "
                "train one with python -m pipelines.train_detector"
            )


class _ScoreBatches(beam.DoFn):
    """Scores a batch of records with a model loaded once per worker process.

    A model (tens to hundreds of MB) is shared by the DoFn instances of all
    threads of a process (``shared.Shared``, as RunInference does), not loaded per thread.
    """

    def __init__(self, model_dir: str):
        self._model_dir = model_dir
        self._shared_detector = shared.Shared()
        self._detector: Detector | None = None
        self._scored = beam.metrics.Metrics.counter(_COUNTERS, "scored")

    def setup(self) -> None:
        def load() -> Detector:
            # fastText reads model.bin whole, so the local copy is not needed after loading.
            with tempfile.TemporaryDirectory(prefix="curation-detector-") as local_dir:
                return Detector.load(copy_model_dir(self._model_dir, local_dir))

        self._detector = self._shared_detector.acquire(load, tag=self._model_dir)

    def process(self, batch: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        scores = self._detector.score([record["text"] for record in batch])
        detector_id = self._detector.detector_id
        self._scored.inc(len(batch))
        for record, score in zip(batch, scores.tolist()):
            yield {**record, "synthetic_score": score, "detector_id": detector_id}


class ScoreSynthetic(beam.PTransform):
    """Adds ``synthetic_score`` (P(synthetic)) and ``detector_id`` to every record dict.

    Nothing else in a record changes and no record is dropped. Deciding ``origin``
    from the score (``real_below`` in model.json) is left to the caller.
    """

    def __init__(self, options: ScoreSyntheticOptions):
        super().__init__()
        expect_options(self, options, ScoreSyntheticOptions)
        self._options = options

    def expand(self, records: beam.PCollection[dict[str, Any]]) -> beam.PCollection[dict[str, Any]]:
        return (
            records
            | "Batch" >> beam.BatchElements(min_batch_size=self._options.batch_size, max_batch_size=self._options.batch_size)
            | "Score" >> beam.ParDo(_ScoreBatches(self._options.model_dir))
        )
