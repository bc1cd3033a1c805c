"""Read -> validate -> write throughput of ``pipelines.curate`` against a plain baseline.

Baseline: the same JSONL parsed with ``json.loads`` in one Python loop and written
with ``pyarrow.parquet.write_table`` (zstd), no Beam, no validation, no accounting.
Both run here, side by side, on the same generated corpus.

    python -m bench.io_throughput [--docs 40000] [--words 180] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile

import pyarrow as pa
import pyarrow.parquet as pq

from bench.common import print_table, synthetic_documents, timed, write_results
from pipelines import curate


def _write_corpus(path: str, docs: list[str]) -> int:
    with open(path, "w") as f:
        for i, text in enumerate(docs):
            f.write(json.dumps({"id": f"d{i}", "text": text, "origin": "real" if i % 3 else "synthetic"}) + "\n")
    return os.path.getsize(path)


def _baseline(path: str, out: str) -> int:
    rows = [json.loads(line) for line in open(path, encoding="utf-8")]
    pq.write_table(pa.Table.from_pylist(rows), out, compression="zstd")
    return len(rows)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--docs", type=int, default=40_000)
    parser.add_argument("--words", type=int, default=180)
    parser.add_argument("--quick", action="store_true", help="a small corpus, for a smoke run")
    args = parser.parse_args(argv)
    docs = 4_000 if args.quick else args.docs
    work = tempfile.mkdtemp(prefix="bench-io-")
    try:
        corpus = os.path.join(work, "corpus.jsonl")
        size = _write_corpus(corpus, synthetic_documents(docs, args.words, seed=1))
        base_s, _ = timed(lambda: _baseline(corpus, os.path.join(work, "baseline.parquet")))
        results = {"documents": docs, "megabytes": size / 1e6, "baseline_seconds": base_s}
        rows = [("baseline json+pyarrow", 1, base_s, size / 1e6 / base_s, docs / base_s, 1.0)]
        for workers in (1, 2):
            flags = ["--input", corpus, "--output", os.path.join(work, f"out{workers}"), "--origin-field", "origin",
                     "--no-exact-dedup", "--no-near-dedup"]  # read, validate, write only: bench.e2e times every stage
            if workers > 1:
                flags += [f"--direct_num_workers={workers}", "--direct_running_mode=multi_processing"]
            job_s, manifest = timed(lambda: curate.run(flags))
            assert manifest["accounting"]["output"] == docs
            results[f"curate_seconds_{workers}_workers"] = job_s
            rows.append(("pipelines.curate", workers, job_s, size / 1e6 / job_s, docs / job_s, base_s / job_s))
        print(f"read -> validate -> write, {docs} documents, {size / 1e6:.1f} MB")
        print_table(["run", "workers", "seconds", "MB/s", "docs/s", "speed vs baseline"], rows)
        results["table"] = rows
        print("results:", write_results("io_throughput", results))
        return results
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
