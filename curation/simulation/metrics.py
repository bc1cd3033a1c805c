"""What a generation's model still knows about real text: pure functions.

Words are whitespace-separated tokens (:func:`curation.demo.ngram.count_words`'s
words: punctuation stays attached, line breaks are not words). Every metric
compares against real text, and every sample-based metric is computed on a
sample of the same size for every generation and policy, because type counts
and distinct-n grow with sample size.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Iterable, Mapping

from curation.demo.ngram import END, NgramModel, tokenize

# A real word type is rare when it occurs at most this often in the real training text.
RARE_MAX_COUNT = 5


def word_counts(texts: Iterable[str]) -> Counter[str]:
    """How often each word occurs in ``texts``."""
    return Counter(word for text in texts for word in text.split())


def rare_types(counts: Mapping[str, int], max_count: int = RARE_MAX_COUNT) -> frozenset[str]:
    """The word types that occur at least once and at most ``max_count`` times."""
    return frozenset(word for word, n in counts.items() if 0 < n <= max_count)


def type_share(types: Iterable[str], reference: frozenset[str] | set[str]) -> float:
    """The share of ``reference`` types found in ``types`` (1.0 for an empty reference)."""
    if not reference:
        return 1.0
    return len(reference.intersection(types)) / len(reference)


def distinct_n(texts: Iterable[str], n: int = 2) -> float:
    """Distinct word n-grams over all n-grams, n-grams taken within each text (0.0 when there are none)."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    grams: Counter[tuple[str, ...]] = Counter()
    for text in texts:
        words = text.split()
        grams.update(tuple(words[i : i + n]) for i in range(len(words) - n + 1))
    total = sum(grams.values())
    return len(grams) / total if total else 0.0


def js_divergence(p_counts: Mapping[str, int], q_counts: Mapping[str, int]) -> float:
    """Jensen-Shannon divergence in bits (0 = same distribution, 1 = disjoint supports)
    between the two count tables normalised to distributions. Finite even when a
    word occurs in only one of them, unlike KL."""
    p_total, q_total = sum(p_counts.values()), sum(q_counts.values())
    if not p_total or not q_total:
        raise ValueError("js_divergence needs two non-empty count tables")
    divergence = 0.0
    for word in sorted(set(p_counts) | set(q_counts)):  # a fixed order: the same sum, bit for bit
        p = p_counts.get(word, 0) / p_total
        q = q_counts.get(word, 0) / q_total
        m = (p + q) / 2
        if p:
            divergence += p * math.log2(p / m) / 2
        if q:
            divergence += q * math.log2(q / m) / 2
    return divergence


def cross_entropy_on_vocabulary(model: NgramModel, texts: Iterable[str], vocabulary: frozenset[str]) -> float:
    """Nats per predicted token (document ends included) on ``texts``, over a fixed event space.

    The model gives every word it never saw one shared UNKNOWN probability, so a
    model that knows fewer words puts more mass on UNKNOWN and its plain
    perplexity can *fall* as it forgets. Here the UNKNOWN probability is split
    evenly among the ``vocabulary`` tokens the model does not know, so models
    with different vocabularies are scored on the same events. ``vocabulary``
    must hold every token of ``texts`` (see :func:`curation.demo.ngram.tokenize`).
    """
    known = frozenset(model.vocabulary)
    unknown_types = max(1, len(vocabulary - known))
    total, predicted = 0.0, 0
    for text in texts:
        tokens = tokenize(text)
        for i, token in enumerate([*tokens, END]):
            context = tokens[max(0, i - model.order + 1) : i]
            if token == END or token in known:
                total += math.log(model.prob(token, context))
            else:
                total += math.log(model.prob(token, context) / unknown_types)
            predicted += 1
    if not predicted:
        raise ValueError("cross_entropy_on_vocabulary needs at least one text")
    return total / -predicted
