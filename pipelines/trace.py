"""Prints the story of one input record in a curation run's output.

    python -m pipelines.trace --output OUTPUT ID
    python -m pipelines.trace --output OUTPUT --location 'corpus/web.jsonl#41'

Exit status: 0 found (each matching input record in exactly one table),
1 not found, 3 an input record found in more than one table (the accounting
invariant is broken), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import sys

from curation.provenance.trace import TraceStatus, describe_story, trace_record
from pipelines.common import JobArgumentParser

EXIT_CODES = {TraceStatus.FOUND: 0, TraceStatus.NOT_FOUND: 1, TraceStatus.CONFLICT: 3}


def build_parser() -> argparse.ArgumentParser:
    parser = JobArgumentParser(prog="python -m pipelines.trace", description=__doc__.split("\n")[0])
    parser.add_argument("--output", required=True, help="the run's output directory (local or gs://)")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("id", nargs="?", help="the record's id")
    which.add_argument("--location", metavar="URI#INDEX", help="the record's input file and line/row (from 0)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        story = trace_record(args.output, record_id=args.id, location=args.location)
    except (ValueError, OSError) as err:  # bad location, incomplete output
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(describe_story(story))
    return EXIT_CODES[story.status]


if __name__ == "__main__":
    sys.exit(main())
