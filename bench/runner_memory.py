"""What one stage boundary costs in memory on the local runner (FnApiRunner).

    python -m bench.runner_memory [--quick]

Runs a chain of records (2.4 KB each, like the e2e corpus) through 1 and then 4
boundaries of one kind, each run in a child process, and reports the extra peak
RSS per added boundary, per MB of records. Two kinds: a GroupByKey of whole
records (the joins and groups of the job), and a step waiting for a side input
computed from the same records (the sampler's and the writer's steps that wait
for cutoffs or boundaries). The baseline is the 1-boundary run beside it.

Why it matters: the curate job's RSS slope (MiB per input MB) is about the sum
of these costs over the full-record boundaries it crosses; only fewer such
boundaries (or slimmer records at them) lower it.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from bench.common import print_table, write_results

# VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec, so a child of a large
# process (make bench's) would report its parent's peak.
_CHILD = r"""
import sys
import apache_beam as beam
records, boundaries, kind = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
TEXT = " ".join("w%d" % i for i in range(470))  # about 2.4 KB

def generate(_):
    for i in range(records):
        yield {"id": "id%d" % i, "text": TEXT}

with beam.Pipeline(runner="FnApiRunner") as pipeline:
    chain = pipeline | beam.Impulse() | beam.FlatMap(generate)
    for j in range(boundaries):
        if kind == "group":
            chain = (chain | "Key%d" % j >> beam.Map(lambda r: (r["id"], r)) | "Group%d" % j >> beam.GroupByKey()
                     | "Values%d" % j >> beam.FlatMap(lambda kv: kv[1]))
        else:
            count = chain | "Count%d" % j >> beam.combiners.Count.Globally()
            chain = chain | "Wait%d" % j >> beam.Map(lambda r, n: r, beam.pvalue.AsSingleton(count))
    _ = chain | "Total" >> beam.combiners.Count.Globally()
with open("/proc/self/status") as status:
    print(next(line for line in status if line.startswith("VmHWM:")).split()[1])
"""

KINDS = {"group": "GroupByKey of whole records", "side_input_wait": "step waiting for a data-dependent side input"}
RECORD_BYTES = 2_400


def _peak_mib(records: int, boundaries: int, kind: str) -> float:
    done = subprocess.run([sys.executable, "-c", _CHILD, str(records), str(boundaries), kind],
                          capture_output=True, text=True, check=True)
    return int(done.stdout.split()[-1]) / 1024.0


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.runner_memory", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    parser.add_argument("--records", type=int, default=20_000)
    args = parser.parse_args(argv)
    records = 2_000 if args.quick else args.records
    megabytes = records * RECORD_BYTES / 1e6
    rows, results = [], {"records": records, "megabytes": round(megabytes, 1), "kinds": {}}
    for kind, what in KINDS.items():
        one, four = _peak_mib(records, 1, kind), _peak_mib(records, 4, kind)
        per_boundary = (four - one) / 3 / megabytes
        results["kinds"][kind] = {"peak_mib_1": round(one, 1), "peak_mib_4": round(four, 1),
                                  "mib_per_mb_per_boundary": round(per_boundary, 2)}
        rows.append((what, round(one), round(four), round(per_boundary, 2)))
    print(f"{records:,} records of {RECORD_BYTES:,} bytes ({megabytes:.1f} MB), FnApiRunner, one process")
    print_table(["boundary", "peak MiB, 1", "peak MiB, 4", "MiB per MB per added boundary"], rows)
    print(f"wrote {write_results('runner_memory', results)}")


if __name__ == "__main__":
    main()
