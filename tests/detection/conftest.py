"""Fixtures for detector tests: a generated labelled corpus (always available),
a detector trained on it, and a small slice of the shared dev data (skips when absent)."""

from __future__ import annotations

import pathlib

import pytest

from curation.detection.labelled import LabelledDoc, load_labelled
from curation.detection.training import train_detector, write_model_dir
from curation.hashing import seeded_hash64
from tests.factories import FAST_CONFIG, generate_corpus

DEV_DATA = pathlib.Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "detect" / "dev.jsonl.gz"
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
