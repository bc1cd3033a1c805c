"""A small realistic run's inputs, shared by the scale tests: a slice of the demo
corpus (planted duplicates and bad lines included) and a tiny detector trained on
its declared half with ``pipelines.train_detector``."""

from __future__ import annotations

import contextlib
import io
import json
import pathlib

import pytest

from curation.demo.corpus import build_demo_corpus
from pipelines import train_detector

# A few docs per stdlib family: ~600 records, enough for every table to be non-trivial.
DOCS_PER_SOURCE = 4
# The planted oversized line only needs to exceed --max-text-bytes.
MAX_TEXT_BYTES = 64 * 1024


@pytest.fixture(scope="session")
def small_run_inputs(tmp_path_factory) -> pathlib.Path:
    """A directory holding ``corpus.jsonl`` and ``detector/``."""
    work = tmp_path_factory.mktemp("scale")
    corpus = build_demo_corpus(3, max_docs_per_source=DOCS_PER_SOURCE, oversized_text_bytes=MAX_TEXT_BYTES + 1)
    (work / "corpus.jsonl").write_bytes(b"".join(line + b"\n" for line in corpus.lines))
    labelled = [r for r in corpus.records if "origin" in r]
    (work / "labelled.jsonl").write_text("".join(json.dumps(r) + "\n" for r in labelled))
    with contextlib.redirect_stdout(io.StringIO()):  # the metrics table is for CLI users
        train_detector.main([
            "--input", str(work / "labelled.jsonl"), "--output", str(work / "detector"),
            "--label-field", "origin", "--label-map", "human=real,ai=synthetic", "--domain-field", "module",
            "--dim", "16", "--epoch", "3", "--seed", "3",
        ])
    return work


def curate_args(inputs: pathlib.Path, output: str) -> list[str]:
    """Flags of a run with every stage on: both dedups, the detector, sampling with a real floor."""
    return [
        "--input", f"{inputs / 'corpus.jsonl'}:source=stdlib-docs",
        "--origin-field", "origin", "--origin-values", "human=real,ai=synthetic",
        "--max-text-bytes", str(MAX_TEXT_BYTES), "--detector", str(inputs / "detector"),
        "--strata-fields", "module", "--topics", "2",
        "--min-real-fraction", "0.7", "--sample-fraction", "0.6",
        "--shard-rows", "100", "--seed", "5", "--output", output,
    ]
