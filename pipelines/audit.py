"""Draws the audit sample of a curation run: records whose origin the run decided, for a person to label.

    python -m pipelines.audit --output OUTPUT --sample 300 [--not-selected 100] [--seed 0] [--overwrite]

Writes ``OUTPUT/audit/sample.csv`` (fill in its ``label`` column), ``sample.jsonl``
and ``design.json``; the run's tables are only read. Then label the sample and
run ``python -m pipelines.certify``. Exit status: 0 drawn, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import sys

from curation.audit.options import AuditOptions
from curation.audit.storage import draw_audit_sample, ratio_unit, read_manifest, write_audit_sample
from pipelines.common import JobArgumentParser, option_default


def build_parser() -> argparse.ArgumentParser:
    parser = JobArgumentParser(prog="python -m pipelines.audit", description=__doc__.split("\n")[0])
    parser.add_argument("--output", required=True, help="the run's output directory (local or gs://)")
    parser.add_argument("--sample", type=int, required=True, metavar="N",
                        help="labels wanted from the data shards (records; byte draws when the run's ratio counts bytes)")
    parser.add_argument("--not-selected", type=int, default=option_default(AuditOptions, "not_selected_size"),
                        metavar="N", help="also draw N records from not_selected/ (what the sampler left out; "
                        "default: %(default)s)")
    parser.add_argument("--seed", type=int, default=option_default(AuditOptions, "seed"),
                        help="seeds the draw; a larger --sample with the same seed "
                        "holds every record of a smaller one (default: %(default)s)")
    parser.add_argument("--overwrite", action="store_true", help="replace an earlier audit sample")
    return parser


def run(argv: list[str] | None = None) -> tuple[dict, list[dict]]:
    args = build_parser().parse_args(argv)
    manifest = read_manifest(args.output)
    options = AuditOptions(sample_size=args.sample, not_selected_size=args.not_selected, seed=args.seed,
                           unit=ratio_unit(manifest))
    design, rows = draw_audit_sample(args.output, options)
    write_audit_sample(args.output, design, rows, args.overwrite)
    return design, rows


def main(argv: list[str] | None = None) -> int:
    try:
        design, rows = run(argv)
    except (ValueError, OSError) as err:  # AuditError is a ValueError; a missing or unreadable shard
        print(f"error: {err}", file=sys.stderr)
        return 2
    by_table: dict[str, int] = {}
    for row in rows:
        by_table[row["table"]] = by_table.get(row["table"], 0) + 1
    drawn = ", ".join(f"{n} from {table}/" for table, n in sorted(by_table.items()))
    drawn = drawn or "nothing (no record's origin was decided by the run)"
    print(f"audit sample of run {design['run_id']}: {drawn}, over {len(design['strata'])} strata "
          f"(unit {design['unit']}, seed {design['seed']})")
    print("label it: fill in the label column of audit/sample.csv (real / synthetic), then run python -m pipelines.certify")
    return 0


if __name__ == "__main__":
    sys.exit(main())
