"""Where a local run's memory grows: the RSS as each FnApiRunner stage starts and its peak.

    python -m bench.stage_memory [--docs N] [--quick]

Runs the curate job with every stage on (as ``bench.e2e`` does, on its generated
corpus) in a fresh child process, samples its RSS every 20 ms and names the runner
stage running at the time (from the runner's debug log). Prints one line per stage that
raised the peak by at least 5 MiB: the RSS when it started, its peak, and the
fused steps it ran. The local runner keeps what earlier stages wrote, so the RSS
climbs at the stages that write whole records into a grouping or side-input buffer.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
import time

from bench import e2e
from bench.common import print_table, write_results
from pipelines import curate

_RUNNER_LOG = "apache_beam.runners.portability.fn_api_runner.fn_runner"
_STAGE_PREFIX = "Running bundle for stage "


class _CurrentStage(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.stage = "(construction)"

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith(_STAGE_PREFIX):
            self.stage = message[len(_STAGE_PREFIX):].split("\n")[0]


def _rss_mib() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) // 1024 for line in status if line.startswith("VmRSS:"))


def _steps(stage: str) -> str:
    """A fused stage's name, shortened to the steps it runs."""
    names = [part.split("_AppliedPTransform_")[-1].rsplit("_", 1)[0] for part in stage.replace("(", "").split(")+")]
    return ", ".join(dict.fromkeys(name.strip(")") for name in names))[:140]


def trace(flags: list[str]) -> list[tuple[int, int, str]]:
    """(RSS at start, peak RSS, stage) per stage of one run, in the order they ran."""
    handler = _CurrentStage()
    logger = logging.getLogger(_RUNNER_LOG)
    level, propagate = logger.level, logger.propagate
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    logger.propagate = False  # the runner's debug lines are for the sampler only
    samples: list[tuple[int, str]] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            samples.append((_rss_mib(), handler.stage))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        curate.run(flags)
    finally:
        done.set()
        sampler.join()
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate
    stages: dict[str, list[int]] = {}
    for rss, stage in samples:
        start_and_peak = stages.setdefault(stage, [rss, rss])
        start_and_peak[1] = max(start_and_peak[1], rss)
    return [(start, peak, stage) for stage, (start, peak) in stages.items()]


def _traced_in_child(flags: list[str]) -> list[tuple[int, int, str]]:
    """``trace`` in a fresh process: this one (make bench's) may already hold gigabytes."""
    done = subprocess.run([sys.executable, "-m", "bench.stage_memory", "--child", json.dumps(flags)],
                          cwd=e2e.REPO, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"the traced run failed: {done.stderr[-3000:]}")
    return [tuple(stage) for stage in json.loads(done.stdout.strip().splitlines()[-1])]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.stage_memory", description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=8_000, help="generated documents (bench.e2e's 4x is 8,000)")
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # the traced run's flags, as JSON
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(trace(json.loads(args.child))))
        return
    docs = 500 if args.quick else args.docs
    with tempfile.TemporaryDirectory(prefix="bench-stage-memory-") as work:
        corpus = os.path.join(work, "corpus.jsonl")
        size = e2e.write_corpus(corpus, docs)
        detector = e2e.train_tiny_detector(work)
        stages = _traced_in_child(e2e.job_flags(corpus, os.path.join(work, "out"), e2e.STAGES[-1][1], detector))
    rows, peak = [], 0
    for start, stage_peak, stage in stages:
        if stage_peak >= peak + 5:
            rows.append((start, stage_peak, _steps(stage)))
        peak = max(peak, stage_peak)
    print(f"pipelines.curate, every stage on: {docs:,} documents, {size / 1e6:.1f} MB; stages that raised the peak")
    print_table(["RSS at start, MiB", "peak, MiB", "stage (fused steps)"], rows)
    results = {"documents": docs, "megabytes": round(size / 1e6, 2), "peak_mib": peak,
               "stages": [{"start_mib": s, "peak_mib": p, "steps": steps} for s, p, steps in rows]}
    print(f"wrote {write_results('stage_memory', results)}")


if __name__ == "__main__":
    main()
