"""Measure a trained detector on labelled documents.

    python -m pipelines.evaluate_detector --model models/detector --input labelled.jsonl.gz [--output metrics.json]

Prints AUROC, F1, TPR at 1% / 5% FPR overall, per domain and per generator,
using the model's own real_below for the shares below threshold.
"""

from __future__ import annotations

import argparse
import json
import sys

from apache_beam.io.filesystems import FileSystems

from curation.detection.cli import add_labelled_arguments, labelled_fields, metrics_table
from curation.detection.labelled import load_labelled
from curation.detection.model_dir import load_detector
from curation.detection.training import measure
from pipelines.common import JobArgumentParser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = JobArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_labelled_arguments(parser)
    parser.add_argument("--model", required=True, help="model directory written by pipelines.train_detector")
    parser.add_argument("--output", help="where to write the metrics as JSON (any Beam filesystem path)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        detector = load_detector(args.model)  # checked before the data is read
        # The labelled data must be clean: a missing file, a bad line or an unmapped label is the user's to fix.
        docs = load_labelled(args.input, labelled_fields(args))
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    slices = measure(detector.score([d.text for d in docs]), docs, detector.real_below)
    print(metrics_table(slices))
    if args.output:
        report = {"detector_id": detector.detector_id, "real_below": detector.real_below, "metrics": slices}
        with FileSystems.create(args.output) as out:
            out.write(json.dumps(report, indent=2, sort_keys=True).encode("utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
