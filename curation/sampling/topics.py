"""A small, seeded topic model for stratification: spherical k-means over hashed n-grams.

Features: every word unigram and bigram (:func:`~curation.sampling.tokens.word_tokens`)
is feature-hashed into ``dims`` buckets (words with
:func:`curation.hashing.seeded_hash64`, bigrams by mixing their words' hashes)
with a hash-derived sign (so collisions cancel rather than pile up; an n-gram
is its hash's low 40 bits, the highest of them its sign),
weighted by sublinear term frequency ``1 + ln(count)`` times a smoothed IDF
``1 + ln((1 + n) / (1 + df))`` learnt from the fitting sample, then L2-normalised.

Fitting: greedy k-means++ initialisation whose random draws come from seeded
hashes (not a PRNG, so no numpy-version dependence), then at most
``iterations`` Lloyd steps on cosine similarity; of ``restarts`` such runs the
most cohesive wins. The sample is bounded and order-independent: when it has
more than ``max_documents`` texts, the ones with the lowest seeded hash of
their text are kept (so pass deduplicated texts), and fitting always walks them
in that hash order. Topics are numbered by size in the sample, largest first.

The model is deterministic given (texts as a multiset, seed, parameters). It
serialises to canonical JSON bytes (:meth:`TopicModel.to_bytes`) to be broadcast
to workers; :meth:`TopicModel.assign` then labels documents, a batch at a time.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import itertools
import json
import math
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from curation.hashing import seeded_hash64
from curation.sampling.tokens import word_tokens

_FORMAT = "curation.topic_model"
_FORMAT_VERSION = 1
_TWO_TO_64 = 2**64
_NGRAM_BITS = 40  # n-gram hash bits kept; the rest of a uint64 numbers the document
_NGRAM_MASK = np.uint64((1 << _NGRAM_BITS) - 1)
_MAX_ROWS = 1 << (64 - _NGRAM_BITS)
_CHUNK = 512  # documents featurised per call while fitting
_SAME_POINT = 1e-5  # squared distances below this are float32 noise between equal vectors


def _unsigned_hash64(value: str, seed: int | str, purpose: str) -> int:
    """:func:`seeded_hash64` (signed, for Beam's coder) as an unsigned value in [0, 2**64)."""
    return seeded_hash64(value, seed, purpose) % _TWO_TO_64


@functools.lru_cache(maxsize=1 << 16)
def word_hash(word: str, seed: int | str) -> int:
    """Seeded word hash; cached because word frequencies are Zipfian."""
    return _unsigned_hash64(word, seed, "topic-feature")


def pair_hashes(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Order-sensitive 64-bit hashes of word pairs from their words' hashes (splitmix64
    finaliser; uint64 arithmetic wraps modulo 2**64 as intended)."""
    x = left * np.uint64(0x9E3779B97F4A7C15) + right
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@dataclass(frozen=True)
class _SparseRows:
    """Sparse rows, one per document: entry ``i`` is (``rows[i]``, ``columns[i]``, ``values[i]``),
    sorted by row then column. A document without features has no entry."""

    count: int  # documents
    rows: np.ndarray  # int64
    columns: np.ndarray  # int64 bucket indices
    values: np.ndarray  # float64

    def per_row_sum(self, values: np.ndarray) -> np.ndarray:
        """Sum per document of a value per entry. ``bincount`` adds in entry order, so a
        document's sum never depends on which other documents share the batch."""
        return np.bincount(self.rows, weights=values, minlength=self.count)


def hashed_term_weights(token_lists: Sequence[list[str]], seed: int | str, dims: int) -> _SparseRows:
    """Signed, sublinear-TF feature-hashed unigram+bigram weights of many documents at once.

    One pass of numpy calls per batch instead of per document; each document's
    entries are what it would get alone.
    """
    count = len(token_lists)
    if count >= _MAX_ROWS:
        raise ValueError(f"at most {_MAX_ROWS - 1} documents per call, got {count}")
    # Hash each word type once; a dict lookup per token is several times cheaper than the cache's.
    hashes = {word: word_hash(word, seed) for word in set(itertools.chain.from_iterable(token_lists))}
    lengths = np.fromiter(map(len, token_lists), dtype=np.int64, count=count)
    words = np.fromiter(
        map(hashes.__getitem__, itertools.chain.from_iterable(token_lists)), dtype=np.uint64, count=int(lengths.sum())
    )
    word_rows = np.repeat(np.arange(count, dtype=np.uint64), lengths)
    within = word_rows[:-1] == word_rows[1:]  # bigrams never span two documents
    ngrams = np.concatenate([words, pair_hashes(words[:-1][within], words[1:][within])]) & _NGRAM_MASK
    rows = np.concatenate([word_rows, word_rows[:-1][within]])
    # One uint64 per (document, n-gram) so a single sort counts them all; n-grams are
    # told apart by 40 hash bits, a collision within one document is negligible.
    keys, counts = np.unique((rows << np.uint64(_NGRAM_BITS)) | ngrams, return_counts=True)
    ngrams, rows = keys & _NGRAM_MASK, (keys >> np.uint64(_NGRAM_BITS)).astype(np.int64)
    signs = np.where(ngrams >> np.uint64(_NGRAM_BITS - 1), 1.0, -1.0)
    cells, entry_of = np.unique(rows * dims + (ngrams % np.uint64(dims)).astype(np.int64), return_inverse=True)
    weights = np.bincount(entry_of, weights=signs * (1.0 + np.log(counts)), minlength=len(cells))
    nonzero = weights != 0.0  # signed collisions can cancel out
    cells = cells[nonzero]
    return _SparseRows(count, cells // dims, cells % dims, weights[nonzero])


def _tfidf_rows(weights: _SparseRows, idf: np.ndarray) -> _SparseRows:
    """Each document's TF-IDF vector, L2-normalised (a document without features stays empty)."""
    values = weights.values * idf[weights.columns]
    norms = np.sqrt(weights.per_row_sum(values * values))
    return dataclasses.replace(weights, values=values / norms[weights.rows])


def _uniform(seed: int | str, purpose: str, step: int) -> float:
    """A seeded draw in [0, 1): the k-means++ 'random' choices, reproducible anywhere."""
    return _unsigned_hash64(str(step), seed, purpose) / _TWO_TO_64


@dataclass(frozen=True, eq=False)
class TopicModel:
    """Fitted topic model: IDF weights and unit-length centroids over hashed features."""

    seed: int | str
    dims: int
    idf: np.ndarray  # (dims,) float64
    centroids: np.ndarray  # (num_topics, dims) float64, rows of unit length

    @property
    def num_topics(self) -> int:
        return int(self.centroids.shape[0])

    def assign(self, texts: Sequence[str]) -> list[int]:
        """The topic index of each text (see :meth:`assign_tokens`)."""
        return self.assign_tokens([word_tokens(text) for text in texts])

    def assign_tokens(self, token_lists: Sequence[list[str]]) -> list[int]:
        """The topic index of each document given as its :func:`word_tokens` (most similar
        centroid; ties go to the lower index). Vectorised: pass many documents at once.

        A document without any word has no direction: it is assigned topic 0.
        """
        if not token_lists:
            return []
        features = _tfidf_rows(hashed_term_weights(token_lists, self.seed, self.dims), self.idf)
        similarities = np.column_stack(
            [features.per_row_sum(features.values * centroid[features.columns]) for centroid in self.centroids]
        )
        return np.argmax(similarities, axis=1).tolist()

    def to_bytes(self) -> bytes:
        """Canonical JSON (arrays as base64 little-endian float64): same model, same bytes."""
        doc = {
            "format": _FORMAT,
            "version": _FORMAT_VERSION,
            "seed": self.seed,
            "dims": self.dims,
            "num_topics": self.num_topics,
            "idf": base64.b64encode(self.idf.astype("<f8").tobytes()).decode("ascii"),
            "centroids": base64.b64encode(self.centroids.astype("<f8").tobytes()).decode("ascii"),
        }
        return json.dumps(doc, sort_keys=True).encode("utf-8")

    @classmethod
    def from_bytes(cls, data: bytes) -> "TopicModel":
        doc = json.loads(data)
        if doc.get("format") != _FORMAT or doc.get("version") != _FORMAT_VERSION:
            raise ValueError(
                f"not a {_FORMAT} v{_FORMAT_VERSION} payload "
                f"(format={doc.get('format')!r}, version={doc.get('version')!r})"
            )
        dims, k = int(doc["dims"]), int(doc["num_topics"])
        idf = np.frombuffer(base64.b64decode(doc["idf"]), dtype="<f8").astype(np.float64)
        centroids = np.frombuffer(base64.b64decode(doc["centroids"]), dtype="<f8")
        return cls(doc["seed"], dims, idf, centroids.astype(np.float64).reshape(k, dims))


def _similarities(documents: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """(documents, centroids) cosine similarities of unit vectors."""
    return documents @ centroids.T.astype(np.float32)


def _squared_distances(documents: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """(documents, centres) squared Euclidean distances of unit vectors, 2 - 2 cos;
    float32 rounding noise (identical documents) is flushed to exactly 0."""
    distances = 2.0 - 2.0 * _similarities(documents, centres)
    distances[distances < _SAME_POINT] = 0.0
    return distances


def _bounded_sample(texts: Iterable[str], seed: int | str, max_documents: int) -> list[str]:
    """The ``max_documents`` texts with the lowest seeded hash, in hash order."""
    ranked = sorted((seeded_hash64(t, seed, "topic-sample"), t) for t in texts)
    return [t for _, t in ranked[:max_documents]]


def _kmeans_plus_plus(
    documents: np.ndarray, num_topics: int, seed: int | str, purpose: str
) -> np.ndarray:
    """Seeded greedy k-means++ centres (fewer if the sample has fewer distinct points).

    Greedy, as in scikit-learn: each step draws ``2 + ln(k)`` candidates by D^2
    weighting and keeps the one that lowers the potential most. Plain k-means++
    often puts two centres in one topic of sparse text, where all distances are
    close to the maximum.
    """
    count = len(documents)
    first = min(int(_uniform(seed, purpose, 0) * count), count - 1)
    centres = [documents[first]]
    nearest = _squared_distances(documents, centres[0][None, :])[:, 0]
    trials = 2 + int(math.log(num_topics))
    for step in range(1, num_topics):
        cumulative = np.cumsum(nearest, dtype=np.float64)
        if cumulative[-1] == 0.0:  # every point coincides with a centre already
            break
        draws = [_uniform(seed, purpose, step * trials + t) for t in range(trials)]
        picks = np.searchsorted(cumulative, np.array(draws) * cumulative[-1], side="right")
        candidates = documents[np.minimum(picks, count - 1)]
        updated = np.minimum(nearest[:, None], _squared_distances(documents, candidates))
        best = int(np.argmin(updated.sum(axis=0, dtype=np.float64)))  # ties: the earliest draw
        centres.append(candidates[best])
        nearest = updated[:, best]
    return np.vstack(centres).astype(np.float64)


def fit_topic_model(
    texts: Iterable[str],
    num_topics: int,
    seed: int | str,
    *,
    dims: int = 4096,
    iterations: int = 20,
    restarts: int = 3,
    max_documents: int = 5000,
) -> TopicModel:
    """Fits the topic model on (a bounded, seeded sample of) ``texts``.

    ``dims`` must be a power of two. The model may have fewer than ``num_topics``
    topics when the sample has fewer distinct documents; texts without words
    are ignored. Raises ``ValueError`` when no text in the sample has a word.
    """
    if num_topics < 1:
        raise ValueError(f"num_topics must be at least 1, got {num_topics}")
    if dims < 1 or dims & (dims - 1) or dims >= 1 << (_NGRAM_BITS - 1):
        raise ValueError(f"dims must be a power of two below 2**{_NGRAM_BITS - 1}, got {dims}")
    if iterations < 0 or restarts < 1 or max_documents < 1:
        raise ValueError("iterations must be >= 0, restarts and max_documents >= 1")
    sample = _bounded_sample(texts, seed, max_documents)
    # A chunk at a time: tokens and sort keys of the whole sample at once take hundreds of MB.
    chunks = [
        hashed_term_weights([word_tokens(t) for t in sample[i : i + _CHUNK]], seed, dims)
        for i in range(0, len(sample), _CHUNK)
    ]
    # Documents without any word have no entry and are left out.
    present = [np.unique(chunk.rows, return_inverse=True) for chunk in chunks]
    documents_with_words = sum(len(rows) for rows, _ in present)
    if not documents_with_words:
        raise ValueError("cannot fit a topic model: no text in the sample contains a word")
    document_frequency = sum(np.bincount(chunk.columns, minlength=dims) for chunk in chunks).astype(np.float64)
    idf = 1.0 + np.log((1.0 + documents_with_words) / (1.0 + document_frequency))

    # Dense float32 rows (max_documents x dims x 4 bytes: 80 MB at the defaults)
    # make every k-means pass one matrix product. idf >= 1, so no row is zero.
    documents = np.zeros((documents_with_words, dims), dtype=np.float32)
    first_row = 0
    for chunk, (rows, row_of_entry) in zip(chunks, present):
        features = _tfidf_rows(chunk, idf)
        documents[first_row + row_of_entry, features.columns] = features.values
        first_row += len(rows)

    # Restarts: Lloyd's local optima on text often merge two topics and split a
    # third; the run whose documents sit closest to their centroids wins.
    best_cohesion, centroids = -math.inf, None
    for restart in range(restarts):
        initial = _kmeans_plus_plus(documents, num_topics, seed, f"kmeans++/{restart}")
        candidate, cohesion = _lloyd(documents, initial, iterations)
        if cohesion > best_cohesion:  # ties keep the earlier restart
            best_cohesion, centroids = cohesion, candidate

    labels = np.argmax(_similarities(documents, centroids), axis=1)
    sizes = np.bincount(labels, minlength=len(centroids))
    order = np.argsort(-sizes, kind="stable")
    return TopicModel(seed=seed, dims=dims, idf=idf, centroids=centroids[order])


def _lloyd(
    documents: np.ndarray, centroids: np.ndarray, iterations: int
) -> tuple[np.ndarray, float]:
    """At most ``iterations`` spherical Lloyd steps; returns the centroids and the
    cohesion (sum of each document's similarity to its nearest centroid)."""
    labels = np.full(len(documents), -1)
    for _ in range(iterations):
        new_labels = np.argmax(_similarities(documents, centroids), axis=1)
        if np.array_equal(new_labels, labels):
            break  # a fixed point: further Lloyd steps change nothing
        labels = new_labels
        membership = np.zeros((len(centroids), len(documents)), dtype=np.float32)
        membership[labels, np.arange(len(documents))] = 1.0
        sums = (membership @ documents).astype(np.float64)
        norms = np.linalg.norm(sums, axis=1)
        # An emptied (or degenerate) cluster keeps its previous centroid.
        keep = norms > 0
        centroids = centroids.copy()
        centroids[keep] = sums[keep] / norms[keep, None]
    cohesion = _similarities(documents, centroids).max(axis=1).sum(dtype=np.float64)
    return centroids, float(cohesion)
