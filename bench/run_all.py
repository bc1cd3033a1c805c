"""Runs every benchmark in turn (``make bench``); ``--quick`` for small smoke runs."""

from __future__ import annotations

import argparse
import importlib

BENCHMARKS = [
    "io_throughput", "dedup_speed", "dedup_quality", "detector_speed", "detector_lodo", "e2e", "datatrove_compare",
    "runner_memory", "stage_memory",
]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", nargs="*", default=None, help="names of benchmarks to run")
    args = parser.parse_args(argv)
    for name in args.only or BENCHMARKS:
        print(f"\n=== bench.{name}")
        importlib.import_module(f"bench.{name}").main(["--quick"] if args.quick else [])


if __name__ == "__main__":
    main()
