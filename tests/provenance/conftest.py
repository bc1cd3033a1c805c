"""The provenance tests' outputs: one real run of the job, one fabricated with every stage.

The real run (:func:`curated_output`) is what the card, Croissant file, report and
trace see of a job; the fabricated one (:func:`full_output`) holds every table and
manifest section, written by hand (:func:`tests.factories.write_full_output`).
"""

from __future__ import annotations

import pytest

from pipelines import curate
from tests.bad_input import MAX_TEXT_BYTES, write_mixed_corpus
from tests.factories import N_GOOD, write_full_output

@pytest.fixture(scope="session")
def curated_output(tmp_path_factory):
    """``(output dir, manifest, corpus path)`` of the job run on good records mixed with one bad line per reason."""
    tmp = tmp_path_factory.mktemp("provenance_run")
    corpus = tmp / "mixed.jsonl"
    write_mixed_corpus(corpus, n_good=N_GOOD)
    out = tmp / "out"
    manifest = curate.run([
        "--input", f"{corpus}:source=mixed", "--output", str(out), "--origin-field", "origin",
        "--origin-values", "human=real,ai=synthetic", "--max-text-bytes", str(MAX_TEXT_BYTES), "--shard-rows", "60",
    ])
    return str(out), manifest, corpus


@pytest.fixture
def full_output(tmp_path):
    """``(output dir, manifest)`` of a fabricated output where every stage ran."""
    out = tmp_path / "full"
    return str(out), write_full_output(out)
