"""fastText training and windowed scoring, and the Detector that loads a model directory.

A model directory holds ``model.bin`` (fastText) and ``model.json`` (what it is,
how it was trained, how well it does, its calibrated thresholds).
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import json
import os
import tempfile
from typing import Any, Sequence

import fasttext
import numpy as np

from curation.detection import preprocess
from curation.detection.labelled import LabelledDoc
from curation.hashing import seeded_hash64
from curation.schema import Origin

MODEL_BIN = "model.bin"
MODEL_JSON = "model.json"
_LABEL_PREFIX = "__label__"
_SYNTHETIC_LABEL = _LABEL_PREFIX + Origin.SYNTHETIC.value
_REAL_LABEL = _LABEL_PREFIX + Origin.REAL.value
# fastText 0.9.3 randomly initialises only thread/10 of its input matrix when
# thread < 10 (training then hits "Encountered NaN" at random), and with
# thread >= 10 its lock-free (Hogwild) SGD differs run to run. So training runs
# on one thread, word n-grams are explicit tokens (preprocess.features) instead of
# hashed buckets, and every row of the input matrix is a word whose vector is
# initialised here, seeded, through fastText's pretrainedVectors. (Hashed buckets
# on one thread were measured to hit "Encountered NaN" within one process.)
_TRAIN_THREADS = 1


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


def training_lines(docs: Sequence[LabelledDoc], config: TrainConfig, seed: int) -> list[str]:
    """fastText lines, one per window, with the minority class oversampled to balance.

    Every minority window is repeated the whole number of times the classes differ
    by; a seeded hash picks which get one copy more. Lines are then ordered by a
    seeded hash so SGD sees the classes interleaved.
    """
    by_label: dict[str, list[tuple[str, str]]] = {Origin.REAL.value: [], Origin.SYNTHETIC.value: []}
    for doc in docs:
        for index, window in enumerate(preprocess.windows(doc.text, config.window_tokens, config.word_ngrams)):
            by_label[doc.label].append((f"{doc.id}#{index}", f"{_LABEL_PREFIX}{doc.label} {window}"))
    if not all(by_label.values()):
        raise ValueError("training needs both real and synthetic documents")
    minority, majority = sorted(by_label.values(), key=len)
    copies, remainder = divmod(len(majority), len(minority))
    ranked = sorted(minority, key=lambda item: seeded_hash64(item[0], seed, "detector-oversample"))
    extra = {key for key, _ in ranked[:remainder]}
    keyed = list(majority)
    for key, line in minority:
        keyed.extend((f"{key}~{copy}", line) for copy in range(copies + (key in extra)))
    keyed.sort(key=lambda item: (seeded_hash64(item[0], seed, "detector-train-order"), item[0]))
    return [line for _, line in keyed]


def write_seeded_word_vectors(lines: Sequence[str], dim: int, min_count: int, seed: int, path: str) -> None:
    """A .vec file giving every word fastText will keep (and its end-of-line token) a seeded random vector.

    Uniform in +-1/dim, fastText's own initialisation range; words in sorted order
    so the same lines and seed give the same file.
    """
    counts = collections.Counter(word for line in lines for word in line.split()[1:])
    vocabulary = sorted({word for word, count in counts.items() if count >= min_count} | {"</s>"})
    vectors = np.random.default_rng(seed).uniform(-1.0 / dim, 1.0 / dim, size=(len(vocabulary), dim))
    with open(path, "w", encoding="utf-8") as out:
        out.write(f"{len(vocabulary)} {dim}\n")
        for word, row in zip(vocabulary, np.char.mod("%.6f", vectors)):
            out.write(f"{word} {' '.join(row)}\n")


def train_model(docs: Sequence[LabelledDoc], config: TrainConfig, seed: int) -> fasttext.FastText._FastText:
    """A fastText model trained on the docs' windows, classes balanced by oversampling.

    Deterministic: the same docs, config and seed give the same model.
    """
    lines = training_lines(docs, config, seed)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "train.txt")
        with open(path, "w", encoding="utf-8") as out:
            out.writelines(line + "\n" for line in lines)
        vectors_path = os.path.join(tmp, "init.vec")
        write_seeded_word_vectors(lines, config.dim, config.min_count, seed, vectors_path)
        return fasttext.train_supervised(
            input=path,
            pretrainedVectors=vectors_path,
            lr=config.lr,
            dim=config.dim,
            epoch=config.epoch,
            wordNgrams=1,
            minn=0,
            maxn=0,
            minCount=config.min_count,
            bucket=0,
            thread=_TRAIN_THREADS,
            loss="softmax",
            seed=seed,
            verbose=0,
        )


def log_odds(model: fasttext.FastText._FastText, texts: Sequence[str], word_ngrams: int) -> np.ndarray:
    """log P(synthetic) - log P(real) per text, computed exactly from the model's weights.

    fastText's softmax is linear in the mean of a line's input vectors, so the
    log-odds is that mean (``get_sentence_vector``, one C++ call per text) dotted
    with the difference of the two label rows of the output matrix. Unlike
    ``predict``'s probabilities, which saturate at 1.0 on long documents (and
    whose single-string form fails under numpy 2), this never saturates, and a
    whole document needs no windowing. Texts without words get 0.
    """
    labels = model.get_labels()
    output = model.get_output_matrix()
    direction = (output[labels.index(_SYNTHETIC_LABEL)] - output[labels.index(_REAL_LABEL)]).astype(np.float64)
    lines = [preprocess.features(preprocess.tokens(text), word_ngrams) for text in texts]
    vectors = np.zeros((len(lines), model.get_dimension()))
    for i, line in enumerate(lines):
        if line:
            vectors[i] = model.get_sentence_vector(line)
    return vectors @ direction


def score_texts(model: fasttext.FastText._FastText, texts: Sequence[str], config: TrainConfig) -> np.ndarray:
    """P(synthetic) per text: the sigmoid of its log-odds (0.5 if it has no words)."""
    return 1.0 / (1.0 + np.exp(-log_odds(model, texts, config.word_ngrams)))


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class Detector:
    """A trained detector: scores texts with P(synthetic). Load with ``Detector.load(local_dir)``."""

    def __init__(self, model: fasttext.FastText._FastText, metadata: dict[str, Any]):
        self.model = model
        self.metadata = metadata
        self.config = TrainConfig(**metadata["hyperparameters"])

    @classmethod
    def load(cls, model_dir: str) -> "Detector":
        """Loads a local model directory, refusing a mismatched model.bin or preprocessing."""
        with open(os.path.join(model_dir, MODEL_JSON), encoding="utf-8") as f:
            metadata = json.load(f)
        bin_path = os.path.join(model_dir, MODEL_BIN)
        if file_sha256(bin_path) != metadata["model_sha256"]:
            raise ValueError(f"{bin_path} does not match the model_sha256 in {MODEL_JSON}")
        if metadata["preprocessing_version"] != preprocess.PREPROCESSING_VERSION:
            raise ValueError(
                f"model preprocessing version {metadata['preprocessing_version']} differs from this "
                f"library's {preprocess.PREPROCESSING_VERSION}: retrain the detector"
            )
        return cls(fasttext.load_model(bin_path), metadata)

    @property
    def detector_id(self) -> str:
        return self.metadata["model_sha256"]

    @property
    def real_below(self) -> float:
        return float(self.metadata["thresholds"]["real_below"])

    def score(self, texts: Sequence[str]) -> np.ndarray:
        return score_texts(self.model, texts, self.config)
