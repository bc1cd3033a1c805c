"""The recursive-training loop: fit, sample, assemble the next corpus, repeat.

Generation 0 is an :class:`~curation.demo.ngram.NgramModel` fitted on the real
training split; it is shared by every policy. Generation g of a policy is fitted
on the corpus that policy assembles (:mod:`curation.simulation.policies`) from
the real training split and that policy's generations 0..g-1. Every model writes
one sample per real training document, of that document's word count and source,
with the configured temperature and truncation: that sample is both the next
generation's synthetic data and what the sample-based metrics are measured on.

Besides the default ``curated`` chain, :attr:`SimulationConfig.real_fractions`
adds a sweep of curated chains (:class:`CuratedChain`): each real floor r once
on the crawl as configured (some origins undeclared) and once with every origin
declared ("perfect provenance"), and :attr:`SimulationConfig.seed_replicates`
reruns the default curated chain with other chain seeds to measure the seed
spread. Every curated chain shares generation 0, and a chain asked for twice
(the sweep point that is the default chain) is run once.

Pure Python: the curate job is passed in as a :data:`Curator`, so this module
never imports Beam. Randomness comes from ``random.Random`` streams seeded by
``(seed, purpose)``: the same configuration gives the same results. The curated
chains of a run use the same streams (the same chain seed), so they differ by
their real floor and provenance, not by luck.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import math
import multiprocessing
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


@dataclasses.dataclass(frozen=True)
class CuratedChain:
    """One curated chain: the curate job's real floor, whether every crawled record
    declares its origin, and the seed of the chain's own randomness (mix, crawl,
    samples, the curate job)."""

    real_fraction: float
    all_declared: bool
    seed: int

    @property
    def provenance(self) -> str:
        return "declared" if self.all_declared else "crawl"

    @property
    def name(self) -> str:
        """Unique per chain: names its work folder and its log lines."""
        return f"curated-r{self.real_fraction:g}-{self.provenance}-seed{self.seed}"


# Records of the crawl (JSONL-ready dicts), the generation and the chain -> the (id, text) pairs the curate job kept.
Curator = Callable[[list[dict[str, Any]], int, CuratedChain], list[tuple[str, str]]]


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
    min_real_fraction: float = 0.8  # the default curated chain's real floor
    real_fractions: tuple[float, ...] = ()  # the sweep's real floors, each with both provenances
    seed_replicates: int = 0  # reruns of the default curated chain with chain seeds seed + 1, seed + 2, ...
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
        for r in (self.min_real_fraction, *self.real_fractions):
            if not 0 < r <= 1:
                raise ValueError(f"a real fraction must be in (0, 1], got {r}")
        if len(set(self.real_fractions)) != len(self.real_fractions):
            raise ValueError(f"real fractions repeat: {self.real_fractions}")
        if self.seed_replicates < 0:
            raise ValueError(f"seed_replicates must be >= 0, got {self.seed_replicates}")
        # NgramModel.sample validates temperature, top_k and top_p; fail here, before any work.
        NgramModel(self.order).fit(["a b"]).sample(1, random.Random(0), self.temperature, self.top_k, self.top_p)

    def as_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "policies": [p.value for p in self.policies]}

    @property
    def default_curated(self) -> CuratedChain:
        return CuratedChain(self.min_real_fraction, all_declared=False, seed=self.seed)

    def sweep(self) -> list[CuratedChain]:
        """The sweep's chains: each real floor, as crawled and with every origin declared."""
        return [
            CuratedChain(r, all_declared, self.seed)
            for r in sorted(self.real_fractions) for all_declared in (False, True)
        ]

    def replicates(self) -> list[CuratedChain]:
        """The default curated chain under seeds seed, seed + 1, ..., seed + seed_replicates
        (none without replicates)."""
        if not self.seed_replicates:
            return []
        return [dataclasses.replace(self.default_curated, seed=self.seed + k) for k in range(self.seed_replicates + 1)]


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
    model: NgramModel, templates: Sequence[Document], config: SimulationConfig, chain: str, generation: int,
    seed: int,
) -> list[Document]:
    """One synthetic document per template, of its word count and source."""
    rng = random.Random(f"{seed}:sample:{chain}:{generation}")
    return [
        Document(
            id=synthetic_id(chain, generation, i),
            text=model.sample(count_words(t.text), rng, config.temperature, config.top_k, config.top_p),
            source=t.source,
            origin=SYNTHETIC,
        )
        for i, t in enumerate(templates)
    ]


def _web_corpus(
    policy: Policy, generation: int, real: Sequence[Document], outputs: Sequence[list[Document]], seed: int,
    config: SimulationConfig,
) -> tuple[list[Document], random.Random]:
    """The web-like mix of ``real`` and ``outputs`` (a chain's samples, generation 0 first)
    at ``generation``, and the random stream that drew it (the crawl continues it)."""
    rng = random.Random(f"{seed}:mix:{policy.value}:{generation}")
    pool = [d for output in outputs for d in output]
    return web_mix(real, pool, synthetic_share(generation, config.share_step, config.max_synthetic_share), rng), rng


def _uncurated_corpus(
    policy: Policy, generation: int, real: Sequence[Document], outputs: Sequence[list[Document]],
    config: SimulationConfig,
) -> list[Document]:
    """What ``replace`` or ``uncurated`` trains generation ``generation`` on;
    ``outputs[g]`` is its generation g's sample."""
    if policy is Policy.REPLACE:
        return list(outputs[-1])
    return _web_corpus(policy, generation, real, outputs, config.seed, config)[0]


def _curated_corpus(
    chain: CuratedChain, generation: int, real: Sequence[Document], outputs: Sequence[list[Document]],
    config: SimulationConfig, curate: Curator,
) -> list[Document]:
    """The web mix, crawled (origins declared except on ``undeclared_share`` of it, or on
    none with perfect provenance) and passed through the curate job."""
    mix, rng = _web_corpus(Policy.CURATED, generation, real, outputs, chain.seed, config)
    by_id = {d.id: d for d in mix}
    undeclared_share = 0.0 if chain.all_declared else config.undeclared_share
    # Train on the text the job wrote; the id only looks up the true origin for the report.
    kept = curate(crawl_records(mix, undeclared_share, rng), generation, chain)
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


# (sample name, seed, generation, digest of the training corpus) -> (the model's sample, its row)
_Steps = dict[tuple[str, int, int, str], tuple[list[Document], dict[str, Any]]]


def _corpus_digest(corpus: Sequence[Document]) -> str:
    digest = hashlib.sha256()
    for d in corpus:
        digest.update(f"{len(d.id)}:{d.id}{d.origin}{len(d.text)}:{d.text}".encode())
    return digest.hexdigest()


def _run_chain(
    label: str, name: str, seed: int, corpus_for: Callable[[int, list[list[Document]]], list[Document]],
    base_samples: list[Document], base_row: dict[str, Any], train: Sequence[Document], reference: _Reference,
    config: SimulationConfig, steps: _Steps,
) -> list[dict[str, Any]]:
    """Generations 1..``config.generations`` of one chain: ``corpus_for(generation, outputs)``
    assembles each training corpus from the chain's samples so far; ``name`` and
    ``seed`` seed the samples and name their ids, ``label`` names the chain in the log.

    A corpus another chain already trained on at this generation, under the same
    name and seed, gives the same model and sample: ``steps`` holds them, so
    curated chains whose floors have not bound yet share the work."""
    outputs, rows = [base_samples], [base_row]
    for generation in range(1, config.generations + 1):
        started = time.perf_counter()
        corpus = corpus_for(generation, outputs)
        key = (name, seed, generation, _corpus_digest(corpus))
        if key not in steps:
            model = NgramModel(config.order).fit(d.text for d in corpus)
            samples = _sample(model, train, config, name, generation, seed)
            steps[key] = samples, _row(generation, corpus, model, samples, reference)
        outputs.append(steps[key][0])
        rows.append(steps[key][1])
        _LOG.info(
            "%s generation %d: %d docs (%.0f%% synthetic), perplexity %.1f, rare types %.3f, %.1fs",
            label, generation, rows[-1]["train_docs"], 100 * rows[-1]["train_synthetic_share"],
            rows[-1]["perplexity"], rows[-1]["rare_type_share"], time.perf_counter() - started,
        )
    return rows


class _Chains:
    """Runs chains from the shared generation 0: in this process, or in a worker
    process that got a pickled copy. ``steps`` is this copy's own: chains run in
    one process share the models and samples of identical corpora."""

    def __init__(self, train: Sequence[Document], reference: _Reference, config: SimulationConfig,
                 base_samples: list[Document], base_row: dict[str, Any], curate: Curator | None):
        self.train, self.reference, self.config, self.curate = train, reference, config, curate
        self.base_samples, self.base_row = base_samples, base_row
        self.steps: _Steps = {}

    def run(self, chain: Policy | CuratedChain) -> list[dict[str, Any]]:
        """The rows of a ``replace`` or ``uncurated`` policy, or of one curated chain."""
        train, config = self.train, self.config
        if isinstance(chain, CuratedChain):
            # Every curated chain samples under the name "curated": same streams, same synthetic ids.
            label, name, seed = chain.name, Policy.CURATED.value, chain.seed
            corpus_for = lambda g, outputs: _curated_corpus(chain, g, train, outputs, config, self.curate)  # noqa: E731
        else:
            label, name, seed = chain.value, chain.value, config.seed
            corpus_for = lambda g, outputs: _uncurated_corpus(chain, g, train, outputs, config)  # noqa: E731
        return _run_chain(label, name, seed, corpus_for, self.base_samples, self.base_row, train, self.reference,
                          config, self.steps)


_worker_chains: _Chains | None = None  # a worker process's copy


def _start_worker(chains: _Chains, setup: Callable[[], None] | None) -> None:
    global _worker_chains
    if setup is not None:
        setup()
    _worker_chains = chains


def _run_in_worker(chain: Policy | CuratedChain) -> list[dict[str, Any]]:
    assert _worker_chains is not None, "_start_worker runs first"
    return _worker_chains.run(chain)


def _run_all(chains: _Chains, todo: list[Policy | CuratedChain], workers: int,
             worker_setup: Callable[[], None] | None) -> list[list[dict[str, Any]]]:
    """The rows of each chain of ``todo``, in its order. With ``workers`` > 1 the chains
    run in that many spawned processes, each taking the next chain as it finishes one:
    a chain's rows depend only on its own seeded streams, never on where or when it ran."""
    if workers == 1 or len(todo) < 2:
        return [chains.run(chain) for chain in todo]
    context = multiprocessing.get_context("spawn")  # no forked copy of a parent's threads or locks
    with context.Pool(min(workers, len(todo)), _start_worker, (chains, worker_setup)) as pool:
        rows = pool.map(_run_in_worker, todo, chunksize=1)
        pool.close()
        pool.join()  # reaped, so the parent's os.times() counts the workers' CPU
    return rows


def simulate(
    train: Sequence[Document], heldout: Sequence[Document], config: SimulationConfig, curate: Curator | None = None,
    workers: int = 1, worker_setup: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Runs every policy, the sweep and the seed replicates for ``config.generations`` generations after generation 0.

    Returns ``{"config", "real": {...sizes}, "policies": {policy: rows}, "sweep": [chain],
    "replicates": [chain]}``, a chain being ``{"real_fraction", "provenance", "seed", "rows"}``
    and ``rows`` one row per generation: the training corpus's size and true
    synthetic share (of documents and of words) and the metrics of :func:`_measure`.
    ``policies["curated"]`` is the chain of ``config.default_curated``. Timings go
    to the log only, so the same configuration gives the same results.

    ``workers`` > 1 runs the chains after generation 0 in that many spawned
    processes (``curate`` and ``worker_setup``, run first in each, must pickle);
    the results are the same as with one.
    """
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if any(d.origin != REAL for d in train):
        raise ValueError("the training split must be real documents")
    default = [config.default_curated] if Policy.CURATED in config.policies else []
    # The default chain is also a sweep point and replicate 0: run once.
    curated_chains = list(dict.fromkeys([*default, *config.sweep(), *config.replicates()]))
    if curated_chains and curate is None:
        raise ValueError("the curated policy needs a curator (the curate job)")
    reference = _Reference(train, heldout, config.rare_max_count)
    started = time.perf_counter()
    base = NgramModel(config.order).fit(d.text for d in train)
    base_samples = _sample(base, train, config, "base", 0, config.seed)
    base_row = _row(0, train, base, base_samples, reference)
    _LOG.info("generation 0: perplexity %.1f, rare types %.3f, %.1fs", base_row["perplexity"],
              base_row["rare_type_share"], time.perf_counter() - started)

    # The curated chains first: they take longest, so the workers finish together.
    todo = [*curated_chains, *(p for p in config.policies if p is not Policy.CURATED)]
    chains = _Chains(train, reference, config, base_samples, base_row, curate)
    rows = dict(zip(todo, _run_all(chains, todo, workers, worker_setup)))
    results = {p.value: rows[config.default_curated if p is Policy.CURATED else p] for p in config.policies}

    def described(chains: list[CuratedChain]) -> list[dict[str, Any]]:
        return [{**dataclasses.asdict(c), "provenance": c.provenance, "rows": rows[c]} for c in chains]

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
        "sweep": described(config.sweep()),
        "replicates": described(config.replicates()),
    }
