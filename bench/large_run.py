"""One large local run: ``pipelines.curate`` with every stage on, on a corpus of ``--mb`` MB.

    python -m bench.large_run [--mb 2000] [--max-rss-gib 20] [--work DIR]

Not part of ``make bench`` (a 2 GB run takes about half an hour on 2 cores). The
corpus is :mod:`bench.e2e`'s (planted near and exact copies, origin declared on
half, a tiny detector for the rest), sized to about ``--mb`` MB. One worker, the
best local setting (see the README). The job's RSS is polled while it runs: above
``--max-rss-gib`` it is stopped and the run reported as failed, instead of
leaving the machine to its out-of-memory killer. Reports wall seconds, MB/s, peak
RSS (the job's ``VmHWM``), MiB per input MB and the accounting.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from bench.common import write_results
from bench.e2e import MEASURED_CHILD, REPO, STAGES, job_flags, train_tiny_detector, write_corpus

# The bench corpus's documents average about 2.37 KB.
_BYTES_PER_DOCUMENT = 2375
_POLL_SECONDS = 1.0


def _rss_mib(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as status:
            line = next(line for line in status if line.startswith("VmRSS:"))
    except (FileNotFoundError, StopIteration):
        return None
    return int(line.split()[1]) / 1024


def watched_run(flags: list[str], max_rss_mib: float) -> dict:
    """Runs the job in a child process, stopping it if its RSS passes ``max_rss_mib``."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as stderr:
        child = subprocess.Popen([sys.executable, "-c", MEASURED_CHILD, *flags], cwd=REPO,
                                 stdout=subprocess.DEVNULL, stderr=stderr, text=True)
        highest = 0.0
        while child.poll() is None:
            rss = _rss_mib(child.pid) or 0.0
            highest = max(highest, rss)
            if rss > max_rss_mib:
                child.kill()
                child.wait()
                return {"completed": False, "seconds": round(time.perf_counter() - started, 1),
                        "stopped_at_rss_mib": round(rss, 1)}
            time.sleep(_POLL_SECONDS)
        seconds = time.perf_counter() - started
        stderr.seek(0)
        log = stderr.read()
    if child.returncode != 0:
        raise RuntimeError(f"curate failed (exit {child.returncode}): {log[-3000:]}")
    peaks = [line.split()[1] for line in log.splitlines() if line.startswith("PEAK_RSS_KB ")]
    output = flags[flags.index("--output") + 1]
    with open(os.path.join(output, "manifest.json")) as f:
        manifest = json.load(f)
    return {"completed": True, "seconds": round(seconds, 1),
            "peak_rss_mib": round(int(peaks[-1]) / 1024 if peaks else highest, 1), "accounting": manifest["accounting"]}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=float, default=2000.0, help="corpus size in MB (2000)")
    parser.add_argument("--max-rss-gib", type=float, default=20.0, help="stop the job above this RSS (20)")
    parser.add_argument("--work", help="working directory (kept; default: a temporary one, removed)")
    args = parser.parse_args(argv)
    work = args.work or tempfile.mkdtemp(prefix="bench-large-")
    os.makedirs(work, exist_ok=True)
    try:
        detector = train_tiny_detector(work)
        corpus = os.path.join(work, "corpus.jsonl")
        docs = int(args.mb * 1e6 / _BYTES_PER_DOCUMENT)
        size = write_corpus(corpus, docs)
        output = os.path.join(work, "out")
        shutil.rmtree(output, ignore_errors=True)
        run = watched_run(job_flags(corpus, output, STAGES[-1][1], detector), args.max_rss_gib * 1024)
        megabytes = size / 1e6
        results = {"documents": docs, "megabytes": round(megabytes, 1), "max_rss_gib": args.max_rss_gib, **run}
        if run["completed"]:
            results["mb_per_s"] = round(megabytes / run["seconds"], 3)
            results["peak_rss_mib_per_input_mb"] = round(run["peak_rss_mib"] / megabytes, 2)
            print(f"{docs} documents, {megabytes:.1f} MB: {run['seconds']} s ({results['mb_per_s']} MB/s), "
                  f"peak RSS {run['peak_rss_mib']:.0f} MiB; accounting {run['accounting']}")
        else:
            print(f"{docs} documents, {megabytes:.1f} MB: stopped after {run['seconds']} s at "
                  f"{run['stopped_at_rss_mib']:.0f} MiB RSS (limit {args.max_rss_gib} GiB)")
        print(f"wrote {write_results('large_run', results)}")
        return results
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
