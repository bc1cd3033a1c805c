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
# Ids held by all cached truncations together (each costs about 40 bytes).
_MAX_CACHED_SIZE = 5_000_000


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
        self._cached_size = 0
        self._suffix_continuations: dict[tuple[int, ...], _Continuations] = {}
        self._tempered_base_cache: dict[float, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
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
                truncation = cache.get(context)
                if truncation is None:
                    truncation = self._truncation(context, temperature, top_k, top_p)
                    self._cached_size += truncation.size
                    if self._cached_size > _MAX_CACHED_SIZE:  # start over rather than grow without bound
                        for setting_cache in self._sampling_caches.values():
                            setting_cache.clear()
                        self._cached_size = truncation.size
                    cache[context] = truncation
                return truncation.draw(self._base_ids, rng)

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

    def _seen_continuations(self, context: tuple[int, ...]) -> _Continuations:
        """The ids seen after any suffix of ``context`` with their exact probabilities,
        and the factor c with P(w | context) = c * P_unigram(w) for every other w.

        Built from the one-shorter context's (memoised: few suffixes are shared
        by many contexts). Kneser-Ney continuation counts make a context's seen
        ids a subset of its suffix's, so usually only the probabilities change.
        """
        if not context:
            empty = np.empty(0, dtype=np.int64)
            return _Continuations(empty, np.empty(0), 1.0, empty, empty)
        shorter = self._suffix_continuations.get(context[1:])
        if shorter is None:
            shorter = self._suffix_continuations[context[1:]] = self._seen_continuations(context[1:])
        level = len(context) + 1
        ctx = self._levels[level].get(context)
        if ctx is None:
            return shorter
        ids, discounted_share = ctx.discounted_arrays(self._discounts[level])
        positions = shorter.ids.searchsorted(ids)
        if positions[-1] < len(shorter.ids) and np.array_equal(shorter.ids[positions], ids):
            probs = shorter.probs * ctx.backoff_weight
            probs[positions] += discounted_share
            seen = _Continuations(shorter.ids, probs, shorter.factor * ctx.backoff_weight, shorter.ranks, shorter.falling)
        else:  # ids the suffix never saw: they had the suffix's unigram share
            seen_ids = np.union1d(shorter.ids, ids)
            probs = shorter.factor * self._unigram[seen_ids]
            probs[seen_ids.searchsorted(shorter.ids)] = shorter.probs
            probs *= ctx.backoff_weight
            probs[seen_ids.searchsorted(ids)] += discounted_share
            seen = _Continuations(seen_ids, probs, shorter.factor * ctx.backoff_weight,
                                  np.sort(self._base_rank[seen_ids]), np.arange(len(seen_ids)))
        # The suffix's falling order is nearly right: a stable sort of a nearly sorted run is fast.
        seen.falling = seen.falling[np.argsort(-seen.probs[seen.falling], kind="stable")]
        return seen

    def _tempered_base(self, temperature: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(P_unigram^(1/T) in falling unigram order, its negation for searches, prefix sums from 0)."""
        cached = self._tempered_base_cache.get(temperature)
        if cached is None:
            tempered = self._base_probs ** (1.0 / temperature)
            cached = tempered, -tempered, _prefix_sums(tempered)
            self._tempered_base_cache[temperature] = cached
        return cached

    def _truncation(
        self, context: tuple[int, ...], temperature: float, top_k: int | None, top_p: float | None
    ) -> "_Truncation":
        """The kept head of the tempered next-token distribution after ``context``.

        Outside the seen continuations P(w | context) = c * P_unigram(w), so the
        falling order is two sorted runs merged: the seen ids by their own
        weight, and every other id in the pre-sorted unigram order. Any prefix
        of that merge is "the first n seen ids and the unseen ids among the
        first q unigram positions"; the cut is found with searches over the
        seen ids only, so the cost is O(seen log vocabulary), never O(vocabulary).
        """
        seen = self._seen_continuations(context)
        tempered, negated, base_mass = self._tempered_base(temperature)
        scale = seen.factor ** (1.0 / temperature)  # tempered weight of position q: scale * tempered[q]
        seen_ids = seen.ids[seen.falling]
        weights = seen.probs[seen.falling] ** (1.0 / temperature)
        seen_mass = _prefix_sums(weights)
        ranks = seen.ranks
        rank_mass = _prefix_sums(tempered[ranks])
        rest = _UnseenRun(ranks, rank_mass, base_mass)
        n_seen, rest_end = len(seen_ids), len(tempered)
        if top_k is not None or top_p is not None:
            # Unseen positions ahead of each seen id (ties put the seen id first).
            ahead = negated.searchsorted(-weights / scale, "left")
            seen_ahead = ranks.searchsorted(ahead, "left")
            if top_p is not None:
                total = seen_mass[-1] + scale * (base_mass[-1] - rank_mass[-1])
                unseen_mass_ahead = scale * (base_mass[ahead] - rank_mass[seen_ahead])
                cut = self._cut(seen_mass[:-1] + unseen_mass_ahead, weights, top_p * total, ahead,
                                lambda i: rest.position_at_mass((top_p * total - seen_mass[i]) / scale))
                n_seen, rest_end = min(n_seen, cut[0]), min(rest_end, cut[1])
            if top_k is not None:
                unseen_ahead = ahead - seen_ahead
                cut = self._cut(np.arange(len(weights)) + unseen_ahead, np.ones(len(weights)), top_k, ahead,
                                lambda i: rest.position_at_index(top_k - i - 1))
                n_seen, rest_end = min(n_seen, cut[0]), min(rest_end, cut[1])
        kept_ranks = int(ranks.searchsorted(rest_end, "left"))
        return _Truncation(
            seen_ids=seen_ids[:n_seen],
            seen_cumulative=seen_mass[1 : n_seen + 1],
            scale=scale,
            rest=_UnseenRun(ranks[:kept_ranks], rank_mass[: kept_ranks + 1], base_mass),
            rest_end=rest_end,
            rest_mass=scale * (base_mass[rest_end] - rank_mass[kept_ranks]),
        )

    @staticmethod
    def _cut(before: np.ndarray, sizes: np.ndarray, target: float, ahead: np.ndarray, unseen_cut) -> tuple[int, int]:
        """(seen ids kept, unigram positions kept) of the shortest prefix whose measure
        (mass or count) reaches ``target``. ``before[i]`` is the measure ahead of the
        i-th seen id, ``sizes[i]`` its own; ``unseen_cut(i)`` is the last unseen
        position needed when the prefix ends among the unseen ids after i seen ones."""
        i = int((before + sizes).searchsorted(target, "left"))
        if i < len(before) and before[i] < target:
            return i + 1, int(ahead[i])
        return i, unseen_cut(i) + 1


def _prefix_sums(values: np.ndarray) -> np.ndarray:
    """0 then the running sums of ``values`` (one array, no concatenation: sampling builds many)."""
    sums = np.empty(len(values) + 1)
    sums[0] = 0.0
    np.cumsum(values, out=sums[1:])
    return sums


class _Continuations:
    """A context's seen continuations: ``ids`` ascending, their ``probs``, the unigram
    ``factor`` for every other id, the ids' unigram positions ascending
    (``ranks``), and the indices of ``ids`` by falling probability (``falling``)."""

    __slots__ = ("ids", "probs", "factor", "ranks", "falling")

    def __init__(self, ids, probs, factor, ranks, falling):
        self.ids, self.probs, self.factor, self.ranks, self.falling = ids, probs, factor, ranks, falling


class _UnseenRun:
    """The unigram-ordered ids minus a context's seen ids, addressed by position.

    ``ranks`` are the removed (seen) positions ascending, ``rank_mass`` the
    prefix sums of their tempered unigram weights, ``base_mass`` the prefix sums
    of all tempered unigram weights.
    """

    __slots__ = ("ranks", "rank_mass", "base_mass", "_mass_offsets", "_index_offsets")

    def __init__(self, ranks: np.ndarray, rank_mass: np.ndarray, base_mass: np.ndarray):
        self.ranks, self.rank_mass, self.base_mass = ranks, rank_mass, base_mass
        # Unseen mass / unseen count ahead of each removed position: both rise with it.
        self._mass_offsets = base_mass[ranks] - rank_mass[:-1]
        self._index_offsets: np.ndarray | None = None  # only top-k cuts need it: built on first use

    def position_at_mass(self, mass: float) -> int:
        """The position of the unseen id whose cumulative tempered unigram weight spans ``mass``."""
        removed = int(self._mass_offsets.searchsorted(mass, "right"))
        position = int(self.base_mass.searchsorted(mass + self.rank_mass[removed], "right")) - 1
        return min(max(position, 0), len(self.base_mass) - 2)

    def position_at_index(self, index: int) -> int:
        """The position of the ``index``-th unseen id (from 0)."""
        if self._index_offsets is None:
            self._index_offsets = self.ranks - np.arange(len(self.ranks))
        removed = int(self._index_offsets.searchsorted(index, "right"))
        return min(index + removed, len(self.base_mass) - 2)

    def is_removed(self, position: int) -> bool:
        at = int(self.ranks.searchsorted(position, "left"))
        return at < len(self.ranks) and int(self.ranks[at]) == position


class _Truncation:
    """A context's kept tokens: the first seen ids by weight, plus the unseen ids
    among the first ``rest_end`` unigram positions, weighted ``scale * P_unigram^(1/T)``."""

    __slots__ = ("seen_ids", "seen_cumulative", "seen_total", "scale", "rest", "rest_end", "rest_mass", "size")

    def __init__(self, seen_ids, seen_cumulative, scale, rest, rest_end, rest_mass):
        self.seen_ids, self.seen_cumulative, self.scale = seen_ids, seen_cumulative, scale
        self.seen_total = float(seen_cumulative[-1]) if len(seen_ids) else 0.0
        self.rest, self.rest_end, self.rest_mass = rest, rest_end, rest_mass
        self.size = len(seen_ids) + len(rest.ranks)  # what it costs to keep in memory

    def draw(self, base_ids: np.ndarray, rng: RandomSource) -> int:
        seen_total = self.seen_total
        while True:
            x = rng.random() * (seen_total + self.rest_mass)
            if x < seen_total:
                index = int(self.seen_cumulative.searchsorted(x, "right"))
                return int(self.seen_ids[min(index, len(self.seen_ids) - 1)])
            position = self.rest.position_at_mass((x - seen_total) / self.scale)
            # Only rounding can land on a seen or cut-off position: draw again.
            if position < self.rest_end and not self.rest.is_removed(position):
                return int(base_ids[position])
