"""Options of the detector: fastText's training hyper-parameters and ScoreSynthetic's; frozen, validated on construction."""

from __future__ import annotations

import dataclasses

# Texts per vectorised scoring pass (LinearScorer.BATCH): the fixed cost per pass is
# amortised, and the intermediate arrays (tens of bytes per token) stay small.
SCORE_BATCH = 4096


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """fastText hyper-parameters and the window size; defaults chosen by bench.detector_lodo."""

    window_tokens: int = 128  # training examples; scoring reads whole documents
    word_ngrams: int = 2
    dim: int = 50
    epoch: int = 10
    lr: float = 0.2
    min_count: int = 2  # n-grams and words seen fewer times are dropped

    def __post_init__(self) -> None:
        for name in ("window_tokens", "word_ngrams", "dim", "epoch", "min_count"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0, got {self.lr}")


@dataclasses.dataclass(frozen=True)
class ScoreSyntheticOptions:
    """model_dir: a directory (local or gs://...) written by pipelines.train_detector.
    batch_size: documents scored per vectorised call; smaller ones cost more per document.

    Construction loads and checks the whole model directory (load_detector), on the
    launcher, so no worker ever meets a bad model; ``metadata`` is its model.json.
    """

    model_dir: str
    batch_size: int = SCORE_BATCH
    metadata: dict = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Imported here: loading a model checks its hyper-parameters with TrainConfig
        # (model_dir -> detector -> options), and model_dir reads through Beam's
        # filesystems, which importing these options should not pull in.
        from curation.detection.model_dir import load_detector

        if not self.model_dir:
            raise ValueError("model_dir is required: the directory written by pipelines.train_detector")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        object.__setattr__(self, "metadata", load_detector(self.model_dir).metadata)
