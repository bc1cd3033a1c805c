"""A small word n-gram language model with interpolated Kneser-Ney smoothing.

It writes the demo corpus's synthetic side, and it is the model a model-collapse
simulation trains recursively on its own samples: sampling with a temperature
below 1 or with top-k / top-p truncation never emits words outside the kept
head of each next-word distribution, so rare words genuinely disappear.

Tokens are whitespace-separated words (punctuation stays attached) plus line
breaks, kept as ``"\\n"`` tokens so samples keep a docstring's line shape.
Probabilities are proper: every context's next-token distribution sums to one
over :meth:`NgramModel.prediction_space` (the training words, :data:`END` and
:data:`UNKNOWN`), and a word never seen in training gets the :data:`UNKNOWN`
share, so perplexity on held-out text is finite. Randomness only comes from the
``rng`` passed in (anything with ``random() -> float in [0, 1)``: a
``random.Random`` or a ``numpy.random.Generator``).
"""

from __future__ import annotations

import bisect
import math
import re
from collections import Counter
from typing import Iterable, Protocol, Sequence

import numpy as np

START = "<s>"  # left padding of every document; only ever a context, never predicted
END = "</s>"  # end of document: predicted like a word
UNKNOWN = "<unk>"  # stands for every word not seen in training
LINE_BREAK = "\n"

_START_ID, _END_ID, _UNKNOWN_ID = 0, 1, 2
_TOKEN_RE = re.compile(r"\n|[^\s]+")
# Caching a context's truncated table is only worth its memory while it is small.
_MAX_CACHED_TABLE = 512


class RandomSource(Protocol):
    def random(self) -> float: ...


def tokenize(text: str) -> list[str]:
    """Whitespace-separated words and ``"\\n"`` line breaks, in order."""
    return _TOKEN_RE.findall(text)


def detokenize(tokens: Iterable[str]) -> str:
    """Joins tokens with single spaces, without spaces around line breaks."""
    pieces: list[str] = []
    previous = LINE_BREAK
    for token in tokens:
        if token != LINE_BREAK and previous != LINE_BREAK:
            pieces.append(" ")
        pieces.append(token)
        previous = token
    return "".join(pieces).strip()


def count_words(text: str) -> int:
    """Words as :meth:`NgramModel.sample` counts them (line breaks are not words)."""
    return len(text.split())


def _discount(counts: Iterable[int]) -> float:
    """Ney's estimate n1 / (n1 + 2 n2), clamped so every level keeps some mass."""
    histogram = Counter(min(c, 3) for c in counts)
    n1, n2 = histogram[1], histogram[2]
    if n1 + n2 == 0:
        return 0.75
    return min(max(n1 / (n1 + 2 * n2), 0.1), 0.9)


class _Context:
    """One context's next-token counts at one level of the interpolation."""

    __slots__ = ("counts", "total", "backoff_weight", "_arrays", "_draw_table")

    def __init__(self, counts: dict[int, int], discount: float):
        self.counts = counts
        self.total = sum(counts.values())
        # The mass taken off the seen continuations and handed to the shorter context.
        self.backoff_weight = discount * len(counts) / self.total
        self._arrays: tuple[np.ndarray, np.ndarray] | None = None
        self._draw_table: tuple[list[int], list[float]] | None = None

    def discounted_arrays(self, discount: float) -> tuple[np.ndarray, np.ndarray]:
        """(seen ids ascending, their discounted share (count - d) / total)."""
        if self._arrays is None:
            ids = np.array(sorted(self.counts), dtype=np.int64)
            counts = np.array([self.counts[t] for t in ids.tolist()], dtype=float)
            self._arrays = ids, (counts - discount) / self.total
        return self._arrays

    def draw_discounted(self, discount: float, x: float) -> int:
        """The seen continuation at fraction ``x`` of the discounted counts."""
        if self._draw_table is None:
            ids = list(self.counts)
            self._draw_table = ids, np.cumsum([self.counts[t] - discount for t in ids]).tolist()
        ids, cumulative = self._draw_table
        index = bisect.bisect_right(cumulative, x * cumulative[-1])
        return ids[min(index, len(ids) - 1)]


class NgramModel:
    """A word n-gram model (default trigram) with interpolated Kneser-Ney smoothing.

    The longest context uses raw counts, shorter ones continuation counts (in how
    many distinct contexts a word follows), and the unigram level is interpolated
    with a uniform distribution over the prediction space, which is what gives
    unseen words (:data:`UNKNOWN`) a probability.
    """

    def __init__(self, order: int = 3):
        if not isinstance(order, int) or order < 2:
            raise ValueError(f"order must be an integer >= 2, got {order!r}")
        self.order = order
        self._words: list[str] = []
        self._sampling_caches: dict[tuple, dict] = {}

    # ----------------------------------------------------------------- fitting

    def fit(self, documents: Iterable[str]) -> "NgramModel":
        """Trains on ``documents`` (strings), replacing anything learnt before."""
        token_docs = [tokens for tokens in map(tokenize, documents) if tokens]
        word_counts = Counter(token for tokens in token_docs for token in tokens)
        if not word_counts:
            raise ValueError("fit needs at least one document with a word in it")
        self._word_counts = dict(sorted(word_counts.items()))
        self._words = [START, END, UNKNOWN, *self._word_counts]
        self._ids = {word: i for i, word in enumerate(self._words)}

        n = self.order
        top_counts: Counter[tuple[int, ...]] = Counter()
        for tokens in token_docs:
            ids = [_START_ID] * (n - 1) + [self._ids[t] for t in tokens] + [_END_ID]
            for i in range(n - 1, len(ids)):
                top_counts[tuple(ids[i - n + 1 : i + 1])] += 1

        # counts_by_level[k] maps each k-gram to its count: raw at the top level,
        # continuation (distinct left neighbours of its types) below.
        counts_by_level: dict[int, Counter] = {n: top_counts}
        for k in range(n - 1, 0, -1):
            counts_by_level[k] = Counter(gram[1:] for gram in counts_by_level[k + 1])

        self._discounts = {k: _discount(c.values()) for k, c in counts_by_level.items()}
        self._levels: dict[int, dict[tuple[int, ...], _Context]] = {}
        for k in range(2, n + 1):
            grouped: dict[tuple[int, ...], dict[int, int]] = {}
            for gram, count in counts_by_level[k].items():
                grouped.setdefault(gram[:-1], {})[gram[-1]] = count
            self._levels[k] = {ctx: _Context(c, self._discounts[k]) for ctx, c in grouped.items()}
        self._fit_unigrams(counts_by_level[1])
        self._sampling_caches = {}
        self._tempered_unigram_cache: dict[float, np.ndarray] = {}
        return self

    def _fit_unigrams(self, continuation: Counter) -> None:
        discount = self._discounts[1]
        total = sum(continuation.values())
        n_predictable = len(self._words) - 1  # everything but START
        uniform_share = discount * len(continuation) / total / n_predictable
        probs = np.full(len(self._words), uniform_share)
        probs[_START_ID] = 0.0
        for (token_id,), count in continuation.items():
            probs[token_id] += (count - discount) / total
        self._unigram = probs
        self._unigram_list = probs.tolist()  # scalar lookups are faster on a list
        self._unigram_keep = 1.0 - discount * len(continuation) / total
        self._unigram_draw_ids = [t for (t,) in continuation]
        self._unigram_draw_cumulative = np.cumsum(
            [continuation[(t,)] - discount for t in self._unigram_draw_ids]
        ).tolist()
        # Sampleable ids by falling unigram probability: outside a context's seen
        # continuations the next-token probability is proportional to this, so
        # the truncated tables need no full sort per context.
        sampleable = np.array([_END_ID, *range(_UNKNOWN_ID + 1, len(self._words))])
        order = np.argsort(-probs[sampleable], kind="stable")
        self._base_ids = sampleable[order]
        self._base_probs = probs[self._base_ids]
        self._base_rank = np.empty(len(self._words), dtype=np.int64)
        self._base_rank[self._base_ids] = np.arange(len(self._base_ids))

    # ------------------------------------------------------------- vocabulary

    @property
    def vocabulary(self) -> tuple[str, ...]:
        """The words seen in training, sorted (no special tokens)."""
        return tuple(self._word_counts)

    @property
    def word_counts(self) -> dict[str, int]:
        """How often each training word occurred (line breaks included as ``"\\n"``)."""
        return dict(self._word_counts)

    def prediction_space(self) -> tuple[str, ...]:
        """Every token a context's distribution sums over: the vocabulary, END, UNKNOWN."""
        return (*self.vocabulary, END, UNKNOWN)

    # ---------------------------------------------------------- probabilities

    def prob(self, word: str, context: Sequence[str] = ()) -> float:
        """P(word | context). ``context`` is the preceding tokens of the same
        document (only the last ``order - 1`` matter; fewer means near its start).
        An unseen word gets the :data:`UNKNOWN` probability."""
        return self._prob_id(self._id(word), self._context_ids(context))

    def log_prob(self, document: str) -> float:
        """Natural log of the probability of ``document``, its END included."""
        ids = self._ids_with_end(document)
        n = self.order
        return sum(
            math.log(self._prob_id(ids[i], tuple(ids[i - n + 1 : i])))
            for i in range(n - 1, len(ids))
        )

    def cross_entropy(self, documents: Iterable[str]) -> float:
        """Average negative log probability (nats) per predicted token, ENDs included."""
        total_log_prob, n_predicted = 0.0, 0
        for document in documents:
            total_log_prob += self.log_prob(document)
            n_predicted += len(tokenize(document)) + 1
        if n_predicted == 0:
            raise ValueError("cross_entropy needs at least one document")
        return -total_log_prob / n_predicted

    def perplexity(self, documents: Iterable[str]) -> float:
        return math.exp(self.cross_entropy(documents))

    def _id(self, word: str) -> int:
        self._check_fitted()
        return self._ids.get(word, _UNKNOWN_ID)

    def _context_ids(self, context: Sequence[str]) -> tuple[int, ...]:
        recent = [self._id(w) for w in list(context)[-(self.order - 1) :]]
        return (_START_ID,) * (self.order - 1 - len(recent)) + tuple(recent)

    def _ids_with_end(self, document: str) -> list[int]:
        return (
            [_START_ID] * (self.order - 1)
            + [self._id(t) for t in tokenize(document)]
            + [_END_ID]
        )

    def _prob_id(self, token_id: int, context: tuple[int, ...]) -> float:
        # Interpolate bottom-up: each seen context mixes its discounted counts
        # with the shorter context's distribution.
        p = self._unigram_list[token_id]
        n = self.order
        for k in range(2, n + 1):
            ctx = self._levels[k].get(context[n - k :])
            if ctx is not None:
                seen = max(ctx.counts.get(token_id, 0) - self._discounts[k], 0.0)
                p = seen / ctx.total + ctx.backoff_weight * p
        return p

    def _check_fitted(self) -> None:
        if not self._words:
            raise RuntimeError("the model is not fitted: call fit(documents) first")

    # --------------------------------------------------------------- sampling

    def sample(
        self,
        n_words: int,
        rng: RandomSource,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
    ) -> str:
        """A generated text of exactly ``n_words`` words (see :func:`count_words`).

        Generation starts at a document start; when the model ends a document
        before ``n_words``, a blank line follows and a new one starts.
        :data:`UNKNOWN` is never emitted (the distribution is renormalised
        without it). ``temperature`` reshapes P to P^(1/T); ``top_k`` keeps the
        k most probable tokens, ``top_p`` the smallest most-probable set holding
        that share of the (tempered) mass; with both, the smaller set wins.
        Everything outside the kept set has probability zero.
        """
        self._check_fitted()
        if n_words < 0:
            raise ValueError(f"n_words must be >= 0, got {n_words}")
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        if top_k is not None and (not isinstance(top_k, int) or top_k < 1):
            raise ValueError(f"top_k must be a positive integer or None, got {top_k!r}")
        if top_p is not None and not 0 < top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1] or None, got {top_p!r}")
        if top_p == 1:
            top_p = None
        if temperature == 1 and top_k is None and top_p is None:
            draw = self._draw_exact
        else:
            cache = self._sampling_caches.setdefault((temperature, top_k, top_p), {})

            def draw(context: tuple[int, ...], rng: RandomSource) -> int:
                table = cache.get(context)
                if table is None:
                    table = self._truncated_table(context, temperature, top_k, top_p)
                    if len(table[0]) <= _MAX_CACHED_TABLE:
                        cache[context] = table
                ids, cumulative = table
                index = int(np.searchsorted(cumulative, rng.random() * cumulative[-1], "right"))
                return int(ids[min(index, len(ids) - 1)])

        start = (_START_ID,) * (self.order - 1)
        context, tokens, words = start, [], 0
        while words < n_words:
            token_id = draw(context, rng)
            if token_id == _END_ID:
                if tokens and tokens[-1] != LINE_BREAK:
                    tokens += [LINE_BREAK, LINE_BREAK]
                context = start
                continue
            token = self._words[token_id]
            tokens.append(token)
            words += token != LINE_BREAK
            context = context[1:] + (token_id,)
        return detokenize(tokens)

    def _draw_exact(self, context: tuple[int, ...], rng: RandomSource) -> int:
        """One draw from P(. | context) without UNKNOWN, at temperature 1.

        Interpolated Kneser-Ney is a mixture, so walk it top-down: a seen context
        keeps its discounted counts with probability 1 - backoff_weight, else
        hands over to the shorter context. Redrawing on UNKNOWN is exactly
        renormalising without it.
        """
        n = self.order
        while True:
            token_id = None
            for k in range(n, 1, -1):
                ctx = self._levels[k].get(context[n - k :])
                if ctx is None:
                    continue
                u = rng.random()
                keep = 1.0 - ctx.backoff_weight
                if u < keep:
                    token_id = ctx.draw_discounted(self._discounts[k], u / keep)
                    break
            if token_id is None:
                u = rng.random()
                if u < self._unigram_keep:
                    x = u / self._unigram_keep * self._unigram_draw_cumulative[-1]
                    index = bisect.bisect_right(self._unigram_draw_cumulative, x)
                    token_id = self._unigram_draw_ids[min(index, len(self._unigram_draw_ids) - 1)]
                else:  # the uniform share: any token but START
                    token_id = 1 + int(rng.random() * (len(self._words) - 1))
            if token_id != _UNKNOWN_ID:
                return token_id

    def _seen_continuations(self, context: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, float]:
        """(ids seen after any suffix of ``context``, their exact probabilities,
        the factor c with P(w | context) = c * P_unigram(w) for every other w)."""
        n = self.order
        levels = [
            (self._levels[k].get(context[n - k :]), self._discounts[k]) for k in range(2, n + 1)
        ]
        levels = [(ctx.discounted_arrays(d), ctx.backoff_weight) for ctx, d in levels if ctx]
        if not levels:
            return np.empty(0, dtype=np.int64), np.empty(0), 1.0
        seen_ids = np.unique(np.concatenate([ids for (ids, _), _ in levels]))
        probs = self._unigram[seen_ids]
        unigram_factor = 1.0
        for (ids, discounted_share), backoff_weight in levels:  # shortest context first
            probs *= backoff_weight
            probs[np.searchsorted(seen_ids, ids)] += discounted_share
            unigram_factor *= backoff_weight
        return seen_ids, probs, unigram_factor

    def _truncated_table(
        self, context: tuple[int, ...], temperature: float, top_k: int | None, top_p: float | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(kept ids in falling probability, cumulative tempered weights) for ``context``.

        Unseen continuations keep the unigram order, so the full descending
        order is the pre-sorted unigram list with the seen continuations taken
        out and merged back in at their places: O(vocabulary), no sort.
        """
        seen_ids, seen_probs, unigram_factor = self._seen_continuations(context)
        inverse_t = 1.0 / temperature
        tempered_unigram = self._tempered_unigram_cache.get(temperature)
        if tempered_unigram is None:
            tempered_unigram = self._tempered_unigram_cache[temperature] = self._base_probs**inverse_t
        ranks = self._base_rank[seen_ids]
        # Under top-k alone the kept unseen words are among the first k + |seen|
        # of the unigram order, so the rest of the vocabulary need not be touched.
        limit = len(ranks) + top_k if top_p is None and top_k is not None else len(self._base_ids)
        ranks = ranks[ranks < limit]
        rest_weights = np.delete(tempered_unigram[:limit], ranks) * unigram_factor**inverse_t
        rest_ids = np.delete(self._base_ids[:limit], ranks)
        seen_weights = seen_probs**inverse_t
        if top_k is None and top_p is None:  # no cut, so no order needed
            ids = np.concatenate([seen_ids, rest_ids])
            return ids, np.cumsum(np.concatenate([seen_weights, rest_weights]))
        falling = np.argsort(-seen_weights, kind="stable")
        seen_weights, seen_ids = seen_weights[falling], seen_ids[falling]
        positions = np.searchsorted(-rest_weights, -seen_weights, side="left")
        weights = np.insert(rest_weights, positions, seen_weights)
        ids = np.insert(rest_ids, positions, seen_ids)
        cumulative = np.cumsum(weights)
        kept = len(ids)
        if top_p is not None:
            kept = min(kept, int(np.searchsorted(cumulative, top_p * cumulative[-1], "left")) + 1)
        if top_k is not None:
            kept = min(kept, top_k)
        return ids[:kept], cumulative[:kept]
