"""How much of the long tail a sample kept: pure functions over mergeable summaries.

Every input is a count dict (stratum -> documents, word -> occurrences), built
per record and merged with :func:`merge_counts`, so each metric can be computed
after a Beam ``CombineGlobally`` (or, for large vocabularies, per shard of the
vocabulary with a ``CombinePerKey``) without holding documents.
"""

from __future__ import annotations

import math
import zlib
from collections import Counter
from dataclasses import dataclass
from typing import Iterable, Mapping

from curation.sampling.tokens import word_tokens

RARE_WORD_MAX_FREQUENCY = 5  # a word type is "rare" if it occurs at most this often in the input
RAREST_STRATA_FRACTION = 0.1  # "rarest strata": the bottom decile by input size
VOCABULARY_SHARDS = 256  # word types meet per shard: a shard holds about 1/256 of the vocabulary


def vocabulary_shard(word: str) -> int:
    """The word's shard: a stable hash (crc32), the same in every worker process.
    (``surrogatepass``: a text the reader did not check may hold lone surrogates.)"""
    return zlib.crc32(word.encode("utf-8", "surrogatepass")) % VOCABULARY_SHARDS


def by_vocabulary_shard(counts: Mapping[str, int]) -> dict[int, dict[str, int]]:
    """Word counts split by the words' vocabulary shards."""
    shards: dict[int, dict[str, int]] = {}
    for word, count in counts.items():
        shards.setdefault(vocabulary_shard(word), {})[word] = count
    return shards


def word_counts(text: str) -> Counter[str]:
    """Occurrences of each word type (:func:`~curation.sampling.tokens.word_tokens`) in ``text``."""
    return Counter(word_tokens(text))


def merge_counts(summaries: Iterable[Mapping[str, int]]) -> Counter[str]:
    """The sum of count dicts (associative and commutative: a valid combine)."""
    merged: Counter[str] = Counter()
    for summary in summaries:
        merged.update(summary)
    return merged


@dataclass(frozen=True)
class StratumCounts:
    stratum: str
    documents_in: int
    documents_out: int

    @property
    def kept_share(self) -> float:
        """Fraction of the stratum's input that is in the output (NaN for an empty stratum)."""
        return self.documents_out / self.documents_in if self.documents_in else math.nan


def stratum_counts(
    counts_in: Mapping[str, int], counts_out: Mapping[str, int]
) -> list[StratumCounts]:
    """Per stratum, documents in vs out, sorted by stratum key; strata of either side included."""
    strata = sorted(set(counts_in) | set(counts_out))
    return [StratumCounts(s, counts_in.get(s, 0), counts_out.get(s, 0)) for s in strata]


def rarest_strata_kept_share(
    counts_in: Mapping[str, int],
    counts_out: Mapping[str, int],
    fraction: float = RAREST_STRATA_FRACTION,
) -> float:
    """Share of the rarest strata's documents that the output kept.

    The rarest strata are the ``ceil(fraction * #strata)`` non-empty input strata
    with the fewest documents (ties by stratum key); the share is their output
    documents over their input documents. NaN when the input has no documents.
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction!r}")
    present = sorted(((n, s) for s, n in counts_in.items() if n > 0))
    if not present:
        return math.nan
    rarest = present[: math.ceil(fraction * len(present))]
    return sum(counts_out.get(s, 0) for _, s in rarest) / sum(n for n, _ in rarest)


def jensen_shannon_divergence(counts_p: Mapping[str, int], counts_q: Mapping[str, int]) -> float:
    """Jensen-Shannon divergence (base 2, so in [0, 1]) between two histograms.

    Histograms are normalised first; keys missing on one side count as 0.
    NaN if either histogram is empty (nothing to compare).
    """
    total_p, total_q = sum(counts_p.values()), sum(counts_q.values())
    if total_p <= 0 or total_q <= 0:
        return math.nan

    def half_kl(share: float, mixture: float) -> float:
        return 0.5 * share * math.log2(share / mixture) if share > 0 else 0.0

    divergence = 0.0
    for key in sorted(set(counts_p) | set(counts_q)):  # fixed order: same float sum every run
        p = counts_p.get(key, 0) / total_p
        q = counts_q.get(key, 0) / total_q
        mixture = (p + q) / 2
        divergence += half_kl(p, mixture) + half_kl(q, mixture)
    return min(max(divergence, 0.0), 1.0)  # clamp float error


def rare_type_tally(
    words_in: Mapping[str, int],
    words_out: Mapping[str, int],
    max_frequency: int = RARE_WORD_MAX_FREQUENCY,
) -> tuple[int, int]:
    """(rare word types of the input, those still in the output). Tallies of
    disjoint vocabularies add up, so a vocabulary can be split by word and summed."""
    rare = [w for w, n in words_in.items() if 0 < n <= max_frequency]
    return len(rare), sum(1 for w in rare if words_out.get(w, 0) > 0)


def rare_vocabulary_coverage(
    words_in: Mapping[str, int],
    words_out: Mapping[str, int],
    max_frequency: int = RARE_WORD_MAX_FREQUENCY,
) -> float:
    """Share of the input's rare word types (occurring 1..``max_frequency`` times)
    that still occur in the output. NaN when the input has no rare word."""
    rare, covered = rare_type_tally(words_in, words_out, max_frequency)
    return covered / rare if rare else math.nan
