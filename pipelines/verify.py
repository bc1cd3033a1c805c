"""Checks that a curation run's output is complete: its manifest is there and matches every shard.

    python -m pipelines.verify OUTPUT [--sizes-only]

A run moves ``manifest.json`` in last, after every shard, so an output without
it is incomplete (a run is writing it, or was interrupted). Exit status: 0
complete, 1 incomplete or changed since its run (each problem printed).
"""

from __future__ import annotations

import sys

from curation.storage import verify_output
from pipelines.common import JobArgumentParser


def main(argv: list[str] | None = None) -> int:
    parser = JobArgumentParser(prog="python -m pipelines.verify", description=__doc__.split("\n")[0])
    parser.add_argument("output", help="the run's output directory (local or gs://)")
    parser.add_argument("--sizes-only", action="store_true", help="compare sizes, not sha256 (reads no shard)")
    args = parser.parse_args(argv)
    problems = verify_output(args.output, checksums=not args.sizes_only)
    for problem in problems:
        print(f"incomplete: {problem}")
    if not problems:
        print(f"{args.output}: complete, every shard matches manifest.json")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
