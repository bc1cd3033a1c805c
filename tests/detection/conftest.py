"""Fixtures for detector tests: a generated labelled corpus (always available),
a detector trained on it, and a small slice of the shared dev data (skips when absent)."""

from __future__ import annotations

import pathlib
import random

import pytest

from curation.detection.labelled import LabelledDoc, load_labelled
from curation.detection.options import TrainConfig
from curation.detection.training import train_detector, write_model_dir
from curation.hashing import seeded_hash64

DEV_DATA = pathlib.Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "detect" / "dev.jsonl.gz"
# Few epochs, small windows and vectors: tests pin behaviour, not accuracy.
FAST_CONFIG = TrainConfig(window_tokens=32, dim=16, epoch=5)

_SYLLABLES = "ka lo mi ne ru ta ve si po da fe gu ri no sa te mu li be zo ha ni".split()


def _vocabulary(rng: random.Random, size: int) -> list[str]:
    """Pseudo-words: a realistic number of word types, used in Zipf order.

    A handful of word types makes fastText's SGD diverge ("Encountered NaN"), so
    the corpus needs a vocabulary of natural size.
    """
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(1, 4))))
    return sorted(words)


def _zipf_choices(rng: random.Random, words: list[str], k: int) -> list[str]:
    return rng.choices(words, weights=[1.0 / (rank + 1) for rank in range(len(words))], k=k)


def generate_corpus(n: int = 240, seed: int = 7) -> list[LabelledDoc]:
    """Labelled docs in two domains, about 1 in 4 real, with newlines and varied lengths.

    Both classes draw from one Zipf vocabulary; synthetic text favours a slice of
    it, so the task is learnable without being trivially separable.
    """
    rng = random.Random(seed)
    vocabulary = _vocabulary(rng, 3000)
    shared, synthetic_favourites = vocabulary[:2700], vocabulary[2700:]
    docs = []
    for i in range(n):
        synthetic = i % 4 != 0
        domain = "essays" if i % 2 else "news"
        sentences = []
        for _ in range(rng.randint(4, 14)):
            words = _zipf_choices(rng, shared, rng.randint(5, 25))
            if synthetic:
                words[rng.randrange(len(words))] = rng.choice(synthetic_favourites)
            sentences.append(" ".join(words).capitalize() + rng.choice([".", ".", ",", "!", "?"]))
        docs.append(
            LabelledDoc(
                id=f"doc-{i}",
                text="".join(s + rng.choice([" ", " ", "\n", "\n\n"]) for s in sentences).strip(),
                label="synthetic" if synthetic else "real",
                domain=domain,
                generator=rng.choice(["gen-a", "gen-b"]) if synthetic else "human",
            )
        )
    return docs


@pytest.fixture(scope="session")
def corpus() -> list[LabelledDoc]:
    return generate_corpus()


@pytest.fixture(scope="session")
def trained(corpus, tmp_path_factory):
    """(model directory, model.json content) of a detector trained on the generated corpus."""
    model, metadata = train_detector(corpus, FAST_CONFIG, seed=3)
    model_dir = str(tmp_path_factory.mktemp("detector"))
    return model_dir, write_model_dir(model, metadata, model_dir)


@pytest.fixture(scope="session")
def dev_docs() -> list[LabelledDoc]:
    """About 500 dev docs, a seeded sample of every (domain, label); skips without the data."""
    if not DEV_DATA.exists():
        pytest.skip(f"dev data not found at {DEV_DATA}")
    docs = load_labelled(str(DEV_DATA))
    return [d for d in docs if seeded_hash64(d.id, 0, "test-sample") % 20 == 0]
