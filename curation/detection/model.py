"""fastText training, exact vectorised scoring, and the Detector that loads a model directory.

A model directory holds ``model.bin`` (fastText) and ``model.json`` (what it is,
how it was trained, how well it does, its calibrated thresholds).
"""

from __future__ import annotations

import collections
import dataclasses
import hashlib
import json
import os
import re
import tempfile
from typing import Any, Sequence

import fasttext
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curation.detection import preprocess
from curation.detection.labelled import LabelledDoc
from curation.hashing import seeded_hash64
from curation.schema import Origin

MODEL_BIN = "model.bin"
MODEL_JSON = "model.json"
MODEL_FORMAT_VERSION = "1"
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
    for doc, words in zip(docs, preprocess.token_lists([doc.text for doc in docs])):
        for index, window in enumerate(preprocess.windows(words, config.window_tokens, config.word_ngrams)):
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


def _index_in(values: pa.Array, value_set: pa.Array, missing: int) -> np.ndarray:
    """Index of each value in value_set, ``missing`` if absent (Arrow hashes value_set on every call)."""
    return pc.index_in(values, value_set=value_set).fill_null(missing).to_numpy().astype(np.int64)


def _segment_sums(values: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The sums of the rows values[starts[i] : ends[i]] (0 for empty ranges), ranges in order.

    Each sum depends on its own rows only, never on the rows around them.
    """
    nonempty = ends > starts
    sums = np.zeros((len(starts),) + values.shape[1:])
    if nonempty.any():
        # reduceat over (start, end) pairs: the even results are the ranges' sums.
        bounds = np.column_stack([starts[nonempty], ends[nonempty]]).ravel()
        sums[nonempty] = np.add.reduceat(values, bounds[:-1] if bounds[-1] == len(values) else bounds, axis=0)[::2]
    return sums


class _IntTable:
    """A fixed map of non-negative int64 keys to values, for vectorised lookups.

    Open addressing with linear probing in numpy, built once: Arrow's index_in
    would build its hash table again on every call.
    """

    _EMPTY = -1
    _MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: spreads consecutive keys

    def __init__(self, keys: np.ndarray, values: np.ndarray, missing: int):
        self._bits = max(4, (4 * len(keys)).bit_length())  # at most a quarter full: short probes
        self._keys = np.full(1 << self._bits, self._EMPTY, dtype=np.int64)
        self._values = np.full(1 << self._bits, missing, dtype=np.int64)
        slots, pending = self._slots(keys), np.arange(len(keys))
        while len(pending):
            wanted = slots[pending]
            free = self._keys[wanted] == self._EMPTY
            self._keys[wanted[free]] = keys[pending[free]]  # of the keys that want a free slot, one gets it
            placed = self._keys[wanted] == keys[pending]
            self._values[wanted[placed]] = values[pending[placed]]
            pending = pending[~placed]
            slots[pending] = (slots[pending] + 1) & ((1 << self._bits) - 1)

    def _slots(self, keys: np.ndarray) -> np.ndarray:
        return ((keys.view(np.uint64) * self._MULTIPLIER) >> np.uint64(64 - self._bits)).view(np.int64)

    def get(self, keys: np.ndarray) -> np.ndarray:
        """The value of each key; ``missing`` for absent ones (negative keys included)."""
        slots = self._slots(keys)
        stored = self._keys[slots]
        pending = np.flatnonzero((stored != keys) & (stored != self._EMPTY))
        while len(pending):  # probe on until the key or an empty slot, which holds ``missing``
            slots[pending] = (slots[pending] + 1) & ((1 << self._bits) - 1)
            stored = self._keys[slots[pending]]
            pending = pending[(stored != keys[pending]) & (stored != self._EMPTY)]
        return self._values[slots]


class LinearScorer:
    """log P(synthetic) - log P(real) of texts, computed exactly from a model's weights.

    fastText's softmax is linear in its line vector, and for a supervised model
    that vector (``get_sentence_vector``) is the mean of the input rows of the
    line's known words and n-grams (unknown ones are skipped, not counted) and
    of its end-of-line token "</s>". So the log-odds is the mean of those rows'
    projections on the difference of the two label rows of the output matrix.
    The projections are computed once per model; texts are then scored in
    batches, vectorised: tokens and lookups in Arrow and numpy, no feature
    strings, no fastText call. Unlike ``predict``'s probabilities, which saturate
    at 1.0 on long documents, this never saturates, and a whole document needs
    no windowing. A text scores the same alone and in any batch; one without
    words gets 0.
    """

    # Texts per vectorised pass: the fixed cost per pass is amortised, and the
    # intermediate arrays (tens of bytes per token) stay small.
    BATCH = 4096

    def __init__(self, model: fasttext.FastText._FastText, word_ngrams: int):
        labels = model.get_labels()
        output = model.get_output_matrix().astype(np.float64)
        direction = output[labels.index(_SYNTHETIC_LABEL)] - output[labels.index(_REAL_LABEL)]
        words = model.get_words()
        # Products summed in numpy's fixed order, not by BLAS (whose order varies by
        # CPU), a block of rows at a time (a float64 copy of all rows costs more).
        inputs = model.get_input_matrix()
        projection = np.concatenate(
            [(inputs[i : i + 4096].astype(np.float64) * direction).sum(axis=1) for i in range(0, len(words), 4096)]
        )
        self._end_of_line = float(projection[words.index("</s>")])
        # An n-gram "a|b|c" is keyed by the ids of "a|b" and "c". Training keeps an
        # n-gram only if it is seen min_count times, and so its prefix and words too.
        vocabulary = pa.array(words, pa.large_string())
        prefix, last = preprocess.split_ngrams(vocabulary)
        parts = _index_in(pa.concat_arrays([prefix, last]), vocabulary, -1)
        prefix_row, last_row = parts[: len(words)], parts[len(words) :]
        is_ngram = (prefix_row >= 0) & (last_row >= 0)
        # Ids here: the words, then the n-grams, then one for every unknown token.
        rows = np.concatenate([np.flatnonzero(~is_ngram), np.flatnonzero(is_ngram)])
        ids = np.empty(len(words), dtype=np.int64)
        ids[rows] = np.arange(len(words))
        self._unknown = len(words)
        self._words = vocabulary.filter(pa.array(~is_ngram))
        # Per id: its projection and 1, summed per text: the numerator and count of the mean.
        self._terms = np.vstack([np.column_stack([projection[rows], np.ones(len(words))]), np.zeros((1, 2))])
        self._ngrams = _IntTable(
            self._ngram_keys(ids[prefix_row[is_ngram]], ids[last_row[is_ngram]]), ids[is_ngram], self._unknown
        )
        self._word_ngrams = word_ngrams

    def _ngram_keys(self, prefix: np.ndarray, last: np.ndarray) -> np.ndarray:
        """A unique int per (prefix id, last word id); -1 if either is unknown."""
        return np.where((prefix < self._unknown) & (last < self._unknown), prefix * self._unknown + last, -1)

    def log_odds(self, texts: Sequence[str]) -> np.ndarray:
        return np.concatenate(
            [np.zeros(0)] + [self._batch_log_odds(texts[i : i + self.BATCH]) for i in range(0, len(texts), self.BATCH)]
        )

    def _batch_log_odds(self, texts: Sequence[str]) -> np.ndarray:
        tokens, offsets = preprocess.batch_tokens(texts)
        starts, ends = offsets[:-1], offsets[1:]
        text_index = np.repeat(np.arange(len(texts)), ends - starts)
        words = prefix = _index_in(tokens, self._words, self._unknown)
        terms = _segment_sums(np.take(self._terms, words, axis=0), starts, ends)
        for n in range(2, self._word_ngrams + 1):  # the n-gram starting at each token, by its (n-1)-gram
            same_text = text_index[: len(words) - n + 1] == text_index[n - 1 :]
            prefix = self._ngrams.get(np.where(same_text, self._ngram_keys(prefix[:-1], words[n - 1 :]), -1))
            terms += _segment_sums(np.take(self._terms, prefix, axis=0), starts, np.maximum(starts, ends - n + 1))
        return np.where(ends > starts, (terms[:, 0] + self._end_of_line) / (terms[:, 1] + 1), 0.0)

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """P(synthetic) per text: the sigmoid of its log-odds (0.5 if it has no words)."""
        return 1.0 / (1.0 + np.exp(-self.log_odds(texts)))


def score_texts(model: fasttext.FastText._FastText, texts: Sequence[str], config: TrainConfig) -> np.ndarray:
    """P(synthetic) per text (see LinearScorer)."""
    return LinearScorer(model, config.word_ngrams).scores(texts)


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class InvalidModelError(ValueError):
    """A model directory this library must not score with, and why."""


def _number(container: dict, key: str, low: float, high: float, what: str) -> float:
    value = container.get(key)
    # bool is an int to Python, and NaN fails every comparison: both are refused here.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise InvalidModelError(f"{what}{key} must be a number in [{low:g}, {high:g}], got {value!r}")
    return float(value)


def check_metadata(metadata: Any) -> None:
    """Raises InvalidModelError unless ``model.json`` holds what train_detector writes, in range.

    The origin rule trusts ``thresholds.real_below`` blindly (a score below it counts
    as real), so it must be a score the scorer can produce: scores are P(synthetic),
    in [0, 1] (5.0 would count every undeclared record as real). The calibration
    figures must agree with how it was calibrated.
    """
    if not isinstance(metadata, dict):
        raise InvalidModelError(f"{MODEL_JSON} must hold a JSON object, got a {type(metadata).__name__}")
    missing = [k for k in ("format_version", "model_sha256", "preprocessing_version", "labels", "hyperparameters",
                           "thresholds") if k not in metadata]
    if missing:
        raise InvalidModelError(f"{MODEL_JSON} lacks {', '.join(missing)}")
    if metadata["format_version"] != MODEL_FORMAT_VERSION:
        raise InvalidModelError(
            f"format_version {metadata['format_version']!r} is not this library's {MODEL_FORMAT_VERSION!r}: retrain the detector"
        )
    if not (isinstance(metadata["model_sha256"], str) and re.fullmatch("[0-9a-f]{64}", metadata["model_sha256"])):
        raise InvalidModelError(f"model_sha256 must be 64 lowercase hex digits, got {metadata['model_sha256']!r}")
    if metadata["preprocessing_version"] != preprocess.PREPROCESSING_VERSION:
        raise InvalidModelError(
            f"preprocessing version {metadata['preprocessing_version']!r} differs from this library's "
            f"{preprocess.PREPROCESSING_VERSION!r}: retrain the detector"
        )
    labels = metadata["labels"]
    if not isinstance(labels, list) or sorted(map(str, labels)) != [Origin.REAL.value, Origin.SYNTHETIC.value]:
        raise InvalidModelError(f"labels must be [\"real\", \"synthetic\"], got {labels!r}")
    hyperparameters = metadata["hyperparameters"]
    fields = sorted(f.name for f in dataclasses.fields(TrainConfig))
    if not isinstance(hyperparameters, dict) or sorted(hyperparameters) != fields:
        raise InvalidModelError(f"hyperparameters must be an object with exactly {', '.join(fields)}")
    for name, value in hyperparameters.items():
        kinds = (int, float) if name == "lr" else (int,)
        if isinstance(value, bool) or not isinstance(value, kinds):
            raise InvalidModelError(
                f"hyperparameters.{name} must be {'a number' if name == 'lr' else 'an integer'}, got {value!r}"
            )
    try:
        TrainConfig(**hyperparameters)
    except ValueError as err:
        raise InvalidModelError(f"hyperparameters: {err}") from None
    # Optional, reported in the run's manifest.
    for part, inside in (("training_data", metadata), ("metrics", metadata), ("test", metadata.get("metrics", {}))):
        if part in inside and not isinstance(inside[part], dict):
            raise InvalidModelError(f"{part} must be an object, got {inside[part]!r}")
    thresholds = metadata["thresholds"]
    if not isinstance(thresholds, dict):
        raise InvalidModelError(f"thresholds must be an object, got {thresholds!r}")
    _number(thresholds, "real_below", 0.0, 1.0, "thresholds.")
    target = _number(thresholds, "max_synthetic_share_below", 0.0, 1.0, "thresholds.")
    documents = thresholds.get("validation_synthetic_documents")
    if isinstance(documents, bool) or not isinstance(documents, int) or documents < 1:
        raise InvalidModelError(f"thresholds.validation_synthetic_documents must be an integer >= 1, got {documents!r}")
    # Calibration puts at most the target share of synthetic validation documents below real_below.
    below = _number(thresholds, "validation_synthetic_share_below", 0.0, target, "thresholds.")
    _number(thresholds, "synthetic_share_below_upper_95", below, 1.0, "thresholds.")
    _number(thresholds, "validation_real_share_below", 0.0, 1.0, "thresholds.")


def _read_metadata(path: str) -> Any:
    try:
        with open(path, "rb") as f:
            return json.loads(f.read().decode("utf-8"))
    except FileNotFoundError:
        raise InvalidModelError(f"no {MODEL_JSON}: train one with python -m pipelines.train_detector") from None
    except ValueError as err:  # invalid JSON or UTF-8
        raise InvalidModelError(f"{MODEL_JSON} is not valid JSON: {err}") from None


class Detector:
    """A trained detector: scores texts with P(synthetic). Load with ``Detector.load(local_dir)``."""

    def __init__(self, model: fasttext.FastText._FastText, metadata: dict[str, Any]):
        self.model = model
        self.metadata = metadata
        self.config = TrainConfig(**metadata["hyperparameters"])
        self.scorer = LinearScorer(model, self.config.word_ngrams)

    @classmethod
    def load(cls, model_dir: str, name: str | None = None) -> "Detector":
        """Loads a local model directory, refusing one that is not exactly what train_detector wrote.

        Checks model.json (check_metadata), model.bin against its sha256, that
        fastText loads it and that it is the model model.json describes.
        Failures raise InvalidModelError naming ``name``: the directory as the
        user gave it, when ``model_dir`` is a local copy.
        """
        try:
            return cls._load(model_dir)
        except InvalidModelError as err:
            raise InvalidModelError(f"detector {name or model_dir}: {err}") from None

    @classmethod
    def _load(cls, model_dir: str) -> "Detector":
        metadata = _read_metadata(os.path.join(model_dir, MODEL_JSON))
        check_metadata(metadata)
        bin_path = os.path.join(model_dir, MODEL_BIN)
        try:
            sha256 = file_sha256(bin_path)
        except FileNotFoundError:
            raise InvalidModelError(f"no {MODEL_BIN}: train one with python -m pipelines.train_detector") from None
        if sha256 != metadata["model_sha256"]:
            raise InvalidModelError(f"{MODEL_BIN} does not match the model_sha256 in {MODEL_JSON}")
        try:
            model = fasttext.load_model(bin_path)
        except ValueError as err:  # "... has wrong file format!"
            raise InvalidModelError(f"fastText cannot load {MODEL_BIN}: {str(err).replace(bin_path, MODEL_BIN)}") from None
        labels = sorted(model.get_labels())
        if labels != sorted([_REAL_LABEL, _SYNTHETIC_LABEL]) or "</s>" not in model.get_words():
            raise InvalidModelError(f"{MODEL_BIN} is not a real/synthetic classifier (labels {labels})")
        if model.get_dimension() != metadata["hyperparameters"]["dim"]:
            raise InvalidModelError(
                f"{MODEL_BIN} has dimension {model.get_dimension()}, {MODEL_JSON} says {metadata['hyperparameters']['dim']}"
            )
        return cls(model, metadata)

    @property
    def detector_id(self) -> str:
        return self.metadata["model_sha256"]

    @property
    def real_below(self) -> float:
        return float(self.metadata["thresholds"]["real_below"])

    def score(self, texts: Sequence[str]) -> np.ndarray:
        return self.scorer.scores(texts)
