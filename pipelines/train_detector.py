"""Train the synthetic-text detector on labelled documents.

    python -m pipelines.train_detector --input labelled.jsonl.gz --output models/detector

Writes model.bin and model.json (hashes, hyper-parameters, data fingerprint,
test metrics overall / per domain / per generator, calibrated real_below) to
--output, which may be any Beam filesystem path (local, gs://...).
"""

from __future__ import annotations

import argparse
import sys
import tempfile

from curation.detection.cli import (
    add_labelled_arguments, add_train_config_arguments, labelled_fields, metrics_table, train_config,
)
from curation.detection.labelled import load_labelled
from curation.detection.model_dir import copy_model_dir
from curation.detection.training import DEFAULT_MAX_SYNTHETIC_SHARE, train_detector, write_model_dir
from pipelines.common import JobArgumentParser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = JobArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_labelled_arguments(parser)
    parser.add_argument("--output", required=True, help="model directory to write")
    parser.add_argument("--seed", type=int, default=0, help="split, oversampling, order and fastText seed")
    parser.add_argument(
        "--max-synthetic-share",
        type=float,
        default=DEFAULT_MAX_SYNTHETIC_SHARE,
        help="calibrate real_below so at most this share of synthetic validation docs fall below it",
    )
    add_train_config_arguments(parser)
    return parser.parse_args(argv)


def train(args: argparse.Namespace) -> dict:
    """Trains the detector ``args`` describe and writes it to ``args.output``; returns its model.json.

    Raises ValueError for labelled data that cannot train a detector (a missing file, a
    bad line, an unmapped label, too few documents of a label: the user's to fix) and
    OSError for an output that cannot be written.
    """
    docs = load_labelled(args.input, labelled_fields(args))
    model, metadata = train_detector(docs, train_config(args), args.seed, args.max_synthetic_share)
    with tempfile.TemporaryDirectory() as local_dir:
        metadata = write_model_dir(model, metadata, local_dir)
        try:
            copy_model_dir(local_dir, args.output)
        except OSError as err:  # a file in the way, no permission
            raise OSError(f"cannot write the detector to {args.output}: {err}") from err
    return metadata


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        metadata = train(args)
    except (ValueError, OSError) as err:  # one line: the input or the output is the user's to fix
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(metrics_table(metadata["metrics"]["test"]))
    thresholds = metadata["thresholds"]
    print(f"real_below={thresholds['real_below']:.6f} model_sha256={metadata['model_sha256']}")
    if thresholds["synthetic_share_below_upper_95"] > 2 * args.max_synthetic_share:
        print(
            f"warning: calibrated on {thresholds['validation_synthetic_documents']} synthetic validation documents, "
            f"real_below may let up to {thresholds['synthetic_share_below_upper_95']:.1%} of synthetic documents count "
            f"as real (95% confidence), not {args.max_synthetic_share:.1%}: label more synthetic documents",
            file=sys.stderr,
        )
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
