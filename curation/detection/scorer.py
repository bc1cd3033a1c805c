"""Exact vectorised scoring: P(synthetic) of texts computed from a fastText model's weights."""

from __future__ import annotations

from typing import Sequence

import fasttext
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curation.detection import preprocess
from curation.detection.classifier import REAL_LABEL, SYNTHETIC_LABEL
from curation.detection.options import SCORE_BATCH, TrainConfig


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

    BATCH = SCORE_BATCH

    def __init__(self, model: fasttext.FastText._FastText, word_ngrams: int):
        labels = model.get_labels()
        output = model.get_output_matrix().astype(np.float64)
        direction = output[labels.index(SYNTHETIC_LABEL)] - output[labels.index(REAL_LABEL)]
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
