"""Certifies a lower bound of a curation run's real share from its labelled audit sample.

    python -m pipelines.certify --output OUTPUT --labels audit/sample.csv \
        [--label-values human=real,ai=synthetic] [--confidence 0.95]

Writes ``OUTPUT/certification.json`` and a "certified" section in the card
(``README.md``) and the report (``report.html``), all or nothing. Exit status:
0 the certified share meets the run's --min-real-fraction (or it had none),
1 it does not (the message says how many more labels, or what lower
real_below, would reach it), 2 bad arguments or a bad labels file.
"""

from __future__ import annotations

import argparse
import sys

from curation import storage
from curation.audit.certify import (
    DEFAULT_LABEL_VALUES, AuditError, advice_text, certify, check_labels, headline, parse_label_values, parse_labels,
)
from curation.audit.storage import load_audit_sample, read_manifest, records_of_run, write_certification
from curation.provenance.card import dataset_card, percent
from curation.provenance.report import report_html
from pipelines.common import JobArgumentParser


def build_parser() -> argparse.ArgumentParser:
    parser = JobArgumentParser(prog="python -m pipelines.certify", description=__doc__.split("\n")[0])
    parser.add_argument("--output", required=True, help="the run's output directory (local or gs://)")
    parser.add_argument("--labels", required=True, metavar="FILE",
                        help="CSV with id and label columns (the filled-in audit/sample.csv) or JSON lines {id, label}")
    parser.add_argument("--label-values", default=DEFAULT_LABEL_VALUES, metavar="VALUE=real|synthetic,...",
                        help=f"map from the labels' values to real/synthetic (default: {DEFAULT_LABEL_VALUES})")
    parser.add_argument("--confidence", type=float, default=0.95, help="confidence of the bound (default: 0.95)")
    return parser


def run(argv: list[str] | None = None) -> dict:
    """Validates everything, renders every file, then writes them; returns the certification."""
    args = build_parser().parse_args(argv)
    value_map = parse_label_values(args.label_values)
    manifest = read_manifest(args.output)
    design, sample = load_audit_sample(args.output, manifest)
    labels = {}
    if sample:  # a run that decided no origin has nothing to label: its share is exact
        try:
            data = storage.read_bytes(args.labels)
        except OSError as err:
            raise AuditError(f"cannot read the labels file {args.labels}: {err}") from None
        labels = check_labels(parse_labels(data, args.labels), value_map, sample, manifest["run_id"],
                              lambda ids: records_of_run(args.output, manifest, ids))
    certification = certify(manifest, design, sample, labels, args.confidence)
    card = dataset_card(manifest, args.output, certification=certification)
    page = report_html(manifest, args.output, certification=certification)
    write_certification(args.output, certification)
    storage.write_bytes(storage.join(args.output, storage.CARD_FILE), card.encode("utf-8"))
    storage.write_bytes(storage.join(args.output, storage.REPORT_FILE), page.encode("utf-8"))
    return certification


def main(argv: list[str] | None = None) -> int:
    try:
        certification = run(argv)
    except (ValueError, OSError) as err:  # AuditError is a ValueError; a missing or unreadable shard
        print(f"error: {err}", file=sys.stderr)
        return 2
    overall = certification["overall"]
    print(f"run {certification['run_id']}: {headline(certification)} "
          f"(as labelled by the run: {percent(overall['as_labelled_real_share'])}; "
          f"estimated from the labels: {percent(overall['estimated_real_share'])})")
    if not certification["meets_floor"]:
        print(f"certified real share {advice_text(certification)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
