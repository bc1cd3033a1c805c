"""Beam wrapper of the detector: ScoreSynthetic adds synthetic_score and detector_id."""

from __future__ import annotations

from typing import Any, Iterator

import apache_beam as beam
from apache_beam.utils import shared

from curation.checks import expect_options
from curation.detection.detector import Detector, InvalidModelError
from curation.detection.model_dir import load_detector
from curation.detection.options import ScoreSyntheticOptions
from curation.lean_transforms import batched
from curation.progress import StageProgress

_COUNTERS = "curation.detection"


class _ScoreBatches(beam.DoFn):
    """Scores a batch of records with a model loaded once per worker process.

    A model (tens to hundreds of MB) is shared by the DoFn instances of all
    threads of a process (``shared.Shared``, as RunInference does), not loaded per thread.
    """

    def __init__(self, model_dir: str, model_sha256: str):
        self._model_dir = model_dir
        self._model_sha256 = model_sha256  # the model checked at launch
        self._shared_detector = shared.Shared()
        self._detector: Detector | None = None
        self._scored = beam.metrics.Metrics.counter(_COUNTERS, "scored")

    def setup(self) -> None:
        def load() -> Detector:
            detector = load_detector(self._model_dir)
            if detector.detector_id != self._model_sha256:
                raise InvalidModelError(f"detector {self._model_dir}: the model changed after the job was launched")
            return detector

        self._detector = self._shared_detector.acquire(load, tag=f"{self._model_dir}@{self._model_sha256}")
        self._progress = StageProgress("score")

    def process(self, batch: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        scores = self._detector.score([record["text"] for record in batch])
        detector_id = self._detector.detector_id
        self._scored.inc(len(batch))
        for record, score in zip(batch, scores.tolist()):
            self._progress.add(len(record["text"]))
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
        return batched(records, "Batch", self._options.batch_size) | "Score" >> beam.ParDo(
            _ScoreBatches(self._options.model_dir, self._options.metadata["model_sha256"])
        )
