"""``make demo``: builds the embedded default corpus, trains a detector on its
declared half, runs the main job with dedup, detection and sampling, then
audits the output: draws a sample, labels it and certifies the real share.

    python -m pipelines.demo [--workdir build/demo] [--seed 0] [--min-real-fraction 0.8] [--sample-fraction 0.5] \
        [--audit-sample 300] [--ratio-unit rows|bytes]

The demo's labeller is the corpus generator, which knows who wrote every
document; on real data a person labels the sample.

Needs nothing but this package: the corpus is generated offline from the Python
standard library's docstrings (see :mod:`curation.demo.corpus`).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import pathlib
import sys

import pyarrow.dataset as ds

from curation.dedup.options import NearDedupOptions
from curation.demo.corpus import authors, build_demo_corpus, label_from_generator
from curation.demo.near_figures import describe, near_dedup_figures, planted_pairs
from curation.provenance.manifest import class_totals, real_fraction, summarize
from curation.provenance.report import read_data_columns
from curation.schema import Fate
from pipelines import audit, certify, common, curate, train_detector


def main(argv: list[str] | None = None) -> int:
    parser = common.JobArgumentParser(prog="python -m pipelines.demo", description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", default="build/demo", help="where the corpus, the model and the output go")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-real-fraction", type=float, default=0.8)
    parser.add_argument("--sample-fraction", type=float, default=0.5)
    parser.add_argument("--audit-sample", type=int, default=300, help="records of the output to label and certify from")
    parser.add_argument("--ratio-unit", choices=("rows", "bytes"), default="rows", help="what the floor counts")
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
        trained = train_detector.main(
            [
                "--input", str(work / "labelled.jsonl"), "--output", str(work / "detector"),
                "--label-field", "origin", "--label-map", "human=real,ai=synthetic",
                "--domain-field", "module", "--seed", str(args.seed),
            ]
        )
    if trained != 0:  # it said why on stderr
        return trained
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
            "--ratio-unit", args.ratio_unit,
            "--output", str(output), "--overwrite", "--seed", str(args.seed), "--shard-rows", "500",
            *beam_args,
        ]
    )
    print(summarize(manifest))
    near = NearDedupOptions(threshold=manifest["config"]["near_threshold"])
    duplicates = ds.dataset(str(output / Fate.DUPLICATE.table)).to_table().to_pylist()
    texts = {r["id"]: r["text"] for r in corpus.records}
    print(describe(near_dedup_figures(texts, duplicates, planted_pairs(corpus.manifest), near), near.threshold))
    print(f"output: {os.path.abspath(output)}  (data/, rejected/, duplicates/, not_selected/, manifest.json)")
    return certify_output(corpus.records, manifest, output, work, args)


def certify_output(records: list[dict], manifest: dict, output: pathlib.Path, work: pathlib.Path,
                   args: argparse.Namespace) -> int:
    """Audits the run as a user would, with the generator as the labeller, and prints the bound."""
    with contextlib.redirect_stdout(io.StringIO()):  # its labelling hints are for the CLI user
        if audit.main(["--output", str(output), "--sample", str(args.audit_sample), "--not-selected", "100",
                       "--seed", str(args.seed), "--overwrite"]):
            return 2
    sample = [json.loads(line) for line in (output / "audit" / "sample.jsonl").read_text().splitlines()]
    labels = work / "labels.csv"
    with labels.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["id", "label"])
        writer.writeheader()
        writer.writerows(label_from_generator(records, [row["id"] for row in sample]))
    print(f"audit: labelled {len(sample)} sampled records from the generator's ground truth -> {labels} "
          "(in real use a person labels audit/sample.csv)")
    with contextlib.redirect_stdout(io.StringIO()):  # the line below says it next to the other shares
        status = certify.main(["--output", str(output), "--labels", str(labels)])  # under the floor: says so on stderr
    if status == 2:
        return 2
    certification = json.loads((output / "certification.json").read_text())
    author = authors(records)
    data = read_data_columns(manifest, str(output), ["id", "text"]).to_pydict()
    real_rows = [author[i] == "real" for i in data["id"]]
    text_bytes = [len(t.encode("utf-8")) for t in data["text"]]
    truly_real_text = sum(b for b, real in zip(text_bytes, real_rows) if real) / sum(text_bytes)
    unit = "of text" if certification["unit"] == "bytes" else "of rows"
    print(
        f"real share: {100 * certification['overall']['certified_real_share']:.1f}% {unit} certified "
        f"({certification['confidence']:.0%} confidence, {certification['labelled']['data']} labels); "
        f"{100 * real_fraction(class_totals(manifest)):.1f}% of rows as labelled, "
        f"{100 * real_fraction(class_totals(manifest, 'class_text_bytes')):.1f}% of text; "
        f"truly real (the generator knows): {100 * sum(real_rows) / len(real_rows):.1f}% of rows, "
        f"{100 * truly_real_text:.1f}% of text"
    )
    left_out = certification["not_selected"]["undeclared_synthetic"]
    if left_out["labelled"]:
        print(f"left out by the sampler: of {left_out['records']:,} undeclared records it counted synthetic, "
              f"{100 * left_out['human_share_estimate']:.0f}% are human by the labels "
              f"(about {left_out['human_records_estimate']:,} documents)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
