"""The recursive-training loop: fit, sample, assemble the next corpus, repeat.

Generation 0 is an :class:`~curation.demo.ngram.NgramModel` fitted on the real
training split; it is shared by every policy. Generation g of a policy is fitted
on the corpus that policy assembles (:mod:`curation.simulation.policies`) from
the real training split and that policy's generations 0..g-1. Every model writes
one sample per real training document, of that document's word count and source,
with the configured temperature and truncation: that sample is both the next
generation's synthetic data and what the sample-based metrics are measured on.

Pure Python: the curate job is passed in as a :data:`Curator`, so this module
never imports Beam. Randomness comes from ``random.Random`` streams seeded by
``(seed, purpose)``: the same configuration gives the same results.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import random
import time
from typing import Any, Callable, Sequence

from curation.demo.ngram import NgramModel, count_words, tokenize
from curation.simulation import metrics
from curation.simulation.policies import (
    REAL,
    SYNTHETIC,
    Document,
    Policy,
    crawl_records,
    synthetic_id,
    synthetic_share,
    web_mix,
)

_LOG = logging.getLogger(__name__)

# Records of the crawl (JSONL-ready dicts) and the generation -> the (id, text) pairs the curate job kept.
Curator = Callable[[list[dict[str, Any]], int], list[tuple[str, str]]]


@dataclasses.dataclass(frozen=True)
class SimulationConfig:
    generations: int = 5
    policies: tuple[Policy, ...] = tuple(Policy)
    order: int = 3
    temperature: float = 0.9
    top_k: int | None = None
    top_p: float | None = 0.9
    share_step: float = 0.15  # the web's synthetic share grows by this much per generation
    max_synthetic_share: float = 0.75
    undeclared_share: float = 0.2  # share of crawled records with no declared origin
    rare_max_count: int = metrics.RARE_MAX_COUNT
    seed: int = 0

    def __post_init__(self):
        if self.generations < 1:
            raise ValueError(f"generations must be >= 1, got {self.generations}")
        if not self.policies:
            raise ValueError("give at least one policy")
        if not (self.share_step > 0 and 0 <= self.max_synthetic_share < 1):
            raise ValueError("share_step must be > 0 and max_synthetic_share in [0, 1)")
        if not 0 <= self.undeclared_share <= 1:
            raise ValueError(f"undeclared_share must be in [0, 1], got {self.undeclared_share}")
        if self.rare_max_count < 1:
            raise ValueError(f"rare_max_count must be >= 1, got {self.rare_max_count}")
        # NgramModel.sample validates temperature, top_k and top_p; fail here, before any work.
        NgramModel(self.order).fit(["a b"]).sample(1, random.Random(0), self.temperature, self.top_k, self.top_p)

    def as_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "policies": [p.value for p in self.policies]}


def split_real(
    documents: Sequence[Document], heldout_fraction: float, seed: int
) -> tuple[list[Document], list[Document]]:
    """(training, held-out): a seeded shuffle, the first ``heldout_fraction`` held out
    (at least one document on each side)."""
    if not 0 < heldout_fraction < 1 or len(documents) < 2:
        raise ValueError("need at least two documents and heldout_fraction in (0, 1)")
    shuffled = sorted(documents, key=lambda d: d.id)
    random.Random(f"{seed}:split").shuffle(shuffled)
    n_heldout = min(max(1, round(heldout_fraction * len(shuffled))), len(shuffled) - 1)
    return shuffled[n_heldout:], shuffled[:n_heldout]


class _Reference:
    """The real text every generation is measured against."""

    def __init__(self, train: Sequence[Document], heldout: Sequence[Document], rare_max_count: int):
        self.heldout_texts = [d.text for d in heldout]
        self.heldout_counts = metrics.word_counts(self.heldout_texts)
        # Every real token, line breaks included: the fixed event space perplexity is measured on.
        self.vocabulary = frozenset(t for d in [*train, *heldout] for t in tokenize(d.text))
        train_counts = metrics.word_counts(d.text for d in train)
        self.train_types = frozenset(train_counts)
        self.rare_types = metrics.rare_types(train_counts, rare_max_count)


def _measure(model: NgramModel, samples: Sequence[Document], reference: _Reference) -> dict[str, float]:
    """The metrics of one generation's model, against real text:

    * ``perplexity`` (``exp(cross_entropy)``): on the held-out real documents, over
      the fixed vocabulary of every real token (:func:`metrics.cross_entropy_on_vocabulary`);
    * ``vocab_coverage``: share of the real training split's word types in the model's vocabulary;
    * ``rare_type_share``: share of the rare real types (at most ``rare_max_count``
      occurrences in the real training split) that occur in the model's sample,
      i.e. that it still produces under its truncated sampling;
    * ``distinct_2``: distinct word bigrams over all bigrams of the sample;
    * ``js_divergence``: between the sample's word distribution and the held-out real one.

    The sample is always one document per real training document, of the same
    length, so the sample-based metrics compare like with like.
    """
    sample_texts = [d.text for d in samples]
    sample_counts = metrics.word_counts(sample_texts)
    cross_entropy = metrics.cross_entropy_on_vocabulary(model, reference.heldout_texts, reference.vocabulary)
    return {
        "cross_entropy": cross_entropy,
        "perplexity": math.exp(cross_entropy),
        # The model's own perplexity, UNKNOWN as one token: not comparable across vocabularies.
        "perplexity_open_vocabulary": model.perplexity(reference.heldout_texts),
        "vocab_coverage": metrics.type_share(model.vocabulary, reference.train_types),
        "rare_type_share": metrics.type_share(sample_counts, reference.rare_types),
        "distinct_2": metrics.distinct_n(sample_texts, 2),
        "js_divergence": metrics.js_divergence(sample_counts, reference.heldout_counts),
    }


def _sample(
    model: NgramModel, templates: Sequence[Document], config: SimulationConfig, chain: str, generation: int
) -> list[Document]:
    """One synthetic document per template, of its word count and source."""
    rng = random.Random(f"{config.seed}:sample:{chain}:{generation}")
    return [
        Document(
            id=synthetic_id(chain, generation, i),
            text=model.sample(count_words(t.text), rng, config.temperature, config.top_k, config.top_p),
            source=t.source,
            origin=SYNTHETIC,
        )
        for i, t in enumerate(templates)
    ]


def _training_corpus(
    policy: Policy, generation: int, real: Sequence[Document], outputs: Sequence[list[Document]],
    config: SimulationConfig, curate: Curator | None,
) -> list[Document]:
    """What ``policy`` trains generation ``generation`` on; ``outputs[g]`` is its generation g's sample."""
    if policy is Policy.REPLACE:
        return list(outputs[-1])
    rng = random.Random(f"{config.seed}:mix:{policy.value}:{generation}")
    pool = [d for output in outputs for d in output]
    mix = web_mix(real, pool, synthetic_share(generation, config.share_step, config.max_synthetic_share), rng)
    if policy is Policy.UNCURATED:
        return mix
    if curate is None:
        raise ValueError("the curated policy needs a curator (the curate job)")
    by_id = {d.id: d for d in mix}
    # Train on the text the job wrote; the id only looks up the true origin for the report.
    kept = curate(crawl_records(mix, config.undeclared_share, rng), generation)
    return [dataclasses.replace(by_id[i], text=text) for i, text in kept]


def _row(
    generation: int, corpus: Sequence[Document], model: NgramModel, samples: Sequence[Document], reference: _Reference
) -> dict[str, Any]:
    words = [count_words(d.text) for d in corpus]
    return {
        "generation": generation,
        "train_docs": len(corpus),
        "train_words": sum(words),
        "train_real_docs": sum(d.origin == REAL for d in corpus),
        "train_synthetic_share": sum(d.origin == SYNTHETIC for d in corpus) / len(corpus),
        # The model learns from words, and the real floor counts documents: the two shares can differ.
        "train_synthetic_word_share": sum(n for d, n in zip(corpus, words) if d.origin == SYNTHETIC) / sum(words),
        **_measure(model, samples, reference),
    }


def simulate(
    train: Sequence[Document], heldout: Sequence[Document], config: SimulationConfig, curate: Curator | None = None
) -> dict[str, Any]:
    """Runs every policy for ``config.generations`` generations after generation 0.

    Returns ``{"config", "real": {...sizes}, "policies": {policy: [row per generation]}}``
    where each row holds the training corpus's size and true synthetic share (of
    documents and of words) and the metrics of :func:`_measure`. Timings go to
    the log only, so the same configuration gives the same results.
    """
    if any(d.origin != REAL for d in train):
        raise ValueError("the training split must be real documents")
    reference = _Reference(train, heldout, config.rare_max_count)
    started = time.perf_counter()
    base = NgramModel(config.order).fit(d.text for d in train)
    base_samples = _sample(base, train, config, "base", 0)
    base_row = _row(0, train, base, base_samples, reference)
    _LOG.info("generation 0: perplexity %.1f, rare types %.3f, %.1fs", base_row["perplexity"],
              base_row["rare_type_share"], time.perf_counter() - started)
    results: dict[str, list[dict[str, Any]]] = {}
    for policy in config.policies:
        outputs, rows = [base_samples], [base_row]
        for generation in range(1, config.generations + 1):
            started = time.perf_counter()
            corpus = _training_corpus(policy, generation, train, outputs, config, curate)
            model = NgramModel(config.order).fit(d.text for d in corpus)
            outputs.append(_sample(model, train, config, policy.value, generation))
            rows.append(_row(generation, corpus, model, outputs[-1], reference))
            _LOG.info(
                "%s generation %d: %d docs (%.0f%% synthetic), perplexity %.1f, rare types %.3f, %.1fs",
                policy.value, generation, rows[-1]["train_docs"], 100 * rows[-1]["train_synthetic_share"],
                rows[-1]["perplexity"], rows[-1]["rare_type_share"], time.perf_counter() - started,
            )
        results[policy.value] = rows
    return {
        "config": config.as_dict(),
        "real": {
            "train_docs": len(train),
            "heldout_docs": len(heldout),
            "train_words": sum(count_words(d.text) for d in train),
            "rare_types": len(reference.rare_types),
            "train_types": len(reference.train_types),
        },
        "policies": results,
    }
