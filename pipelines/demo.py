"""``make demo``: builds the embedded default corpus, trains a detector on its
declared half, and runs the main job with dedup, detection and sampling.

    python -m pipelines.demo [--workdir build/demo] [--seed 0] [--min-real-fraction 0.8] [--sample-fraction 0.5]

Needs nothing but this package: the corpus is generated offline from the Python
standard library's docstrings (see :mod:`curation.demo.corpus`).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import pathlib
import sys

import pyarrow.dataset as ds

from curation.dedup.options import NearDedupOptions
from curation.demo.corpus import build_demo_corpus
from curation.demo.near_figures import describe, near_dedup_figures, planted_pairs
from curation.provenance.manifest import summarize
from pipelines import common, curate, train_detector


def main(argv: list[str] | None = None) -> int:
    parser = common.JobArgumentParser(prog="python -m pipelines.demo", description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", default="build/demo", help="where the corpus, the model and the output go")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-real-fraction", type=float, default=0.8)
    parser.add_argument("--sample-fraction", type=float, default=0.5)
    args, beam_args = parser.parse_job_and_beam_args(argv)
    common.configure_logging()
    work = pathlib.Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    corpus = build_demo_corpus(args.seed)
    (work / "corpus.jsonl").write_bytes(b"".join(line + b"\n" for line in corpus.lines))
    (work / "planted.json").write_text(json.dumps(corpus.manifest, indent=2, sort_keys=True) + "\n")
    # The declared half is the labelled data a team would have; the detector decides the rest.
    labelled = [r for r in corpus.records if "origin" in r]
    (work / "labelled.jsonl").write_text("".join(json.dumps(r) + "\n" for r in labelled))
    print(
        f"demo corpus: {corpus.manifest['good_records']} good records and {len(corpus.manifest['bad_records'])} "
        f"bad lines from {len(corpus.manifest['real_docs_per_source'])} sources -> {work / 'corpus.jsonl'}"
    )
    print(f"training the detector on {len(labelled)} declared records")
    with contextlib.redirect_stdout(io.StringIO()):  # its per-source table is for the CLI user
        train_detector.main(
            [
                "--input", str(work / "labelled.jsonl"), "--output", str(work / "detector"),
                "--label-field", "origin", "--label-map", "human=real,ai=synthetic",
                "--domain-field", "module", "--seed", str(args.seed),
            ]
        )
    model = json.loads((work / "detector" / "model.json").read_text())
    overall = model["metrics"]["test"]["overall"]
    print(
        f"detector: test AUROC {overall['auroc']:.3f}, TPR@1%FPR {overall['tpr_at_1pct_fpr']:.3f}, "
        f"real_below {model['thresholds']['real_below']:.4f} -> {work / 'detector'}"
    )
    output = work / "output"
    manifest = curate.run(
        [
            "--input", f"{work / 'corpus.jsonl'}:source=stdlib-docs",
            "--origin-field", "origin", "--origin-values", "human=real,ai=synthetic",
            "--detector", str(work / "detector"), "--strata-fields", "module",
            "--min-real-fraction", str(args.min_real_fraction), "--sample-fraction", str(args.sample_fraction),
            "--output", str(output), "--overwrite", "--seed", str(args.seed), "--shard-rows", "500",
            *beam_args,
        ]
    )
    print(summarize(manifest))
    near = NearDedupOptions(threshold=manifest["config"]["near_threshold"])
    duplicates = ds.dataset(str(output / "duplicates")).to_table().to_pylist()
    texts = {r["id"]: r["text"] for r in corpus.records}
    print(describe(near_dedup_figures(texts, duplicates, planted_pairs(corpus.manifest), near), near.threshold))
    print(f"output: {os.path.abspath(output)}  (data/, rejected/, duplicates/, not_selected/, manifest.json)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
