"""End to end: ``pipelines.curate`` with every stage on, on a generated corpus.

    python -m bench.e2e [--quick] [--docs 2000] [--profile]

The corpus: two planted-near-duplicate corpora from :func:`bench.dedup_quality.planted_corpus`
(a different seed, hence vocabulary, for the "real" and the "synthetic" side), a few
exact copies on top, the origin declared on half the records; a tiny detector is
trained with ``pipelines.train_detector`` on a labelled slice of the same generators
and decides the rest.

Every run is a separate ``python -m pipelines.curate`` process: its wall time
(interpreter start and pipeline construction included) and its peak RSS
(``VmHWM`` of the job's process) are measured. Each configuration runs
``--trials`` times (2); the fastest run's time and the highest RSS count.

* Graph size: the transforms in the full job's runner-API proto (leaves and
  composites), the fixed cost every run pays before the first record.
* Fixed cost: the wall time of the full job on a 20-document corpus.
* Throughput: the full job with 1 worker and with 2 worker processes, with the
  CPU seconds of the job and its worker processes (what the second worker costs).
* Per-stage share (method): the job is run with stages switched on one at a time
  (read+write, +exact dedup, +near dedup, +detector, +sampling, 1 worker); a
  stage's time is the difference to the run before it, its share that over the
  full run. Differences of separate runs carry their noise (a few percent).
* Memory: peak RSS of the full 1-worker run at 1x, 4x and 8x the corpus; a
  least-squares line through the three runs splits time and memory into a
  fixed part (start-up, pipeline construction, per-stage costs) and a part
  per MB of input (the marginal throughput, what a large corpus approaches).
* Baseline: the job's own library work (reading, dedup keys and sketches,
  detector, topic fit and stratum keys, vocabulary counts, Parquet encoding)
  run in this process without Beam on the 4x corpus, timed per step, in MB/s and
  in core-seconds per MB; the job's
  marginal time per MB is reported as a multiple of the per-document steps'
  (all but the topic fit, which the job runs once on a bounded sample).
* Target budget: the end-to-end target (4 MB/s on 2 cores) allows 0.5
  core-seconds per MB; what the library work leaves of that is the most the
  framework may cost, printed beside what it costs the job now.
* ``--profile``: cProfile of the full 1-worker run (the FnApiRunner runs the
  workers in-process), top functions by own time.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import json
import os
import pstats
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import apache_beam as beam
from apache_beam.transforms.window import GlobalWindow

from bench.common import print_table, write_results
from bench.dedup_quality import planted_corpus
from curation.dedup.minhash import band_keys
from curation.dedup.normalize import normalize_text
from curation.dedup.options import ExactDedupOptions, NearDedupOptions
from curation.dedup.sketch import signature_array, sketch_text
from curation.detection.detector import Detector
from curation.detection.scorer import LinearScorer
from curation import storage
from curation.hashing import content_hash
from curation.reading.files import read_file
from curation.reading.options import ReadOptions
from curation.reading.specs import InputSpec
from curation.sampling.options import SampleOptions
from curation.sampling.strata import keys_and_word_counts
from curation.sampling.topics import fit_topic_model
from curation.sampling.transforms import STRATIFY_BATCH, CountWords
from curation.schema import RECORD_SCHEMA, Fate
from curation.writing.core import encode_parquet
from curation.writing.options import WriteOptions
from pipelines import curate, train_detector

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REAL_SEED, SYNTHETIC_SEED = 11, 12
EXACT_COPY_SHARE = 0.03
LABELLED_PER_SIDE = 300
# Stage toggles, cumulative: each row adds one stage to the one before.
STAGES = [
    ("read+write", ["--no-exact-dedup", "--no-near-dedup"]),
    ("+exact dedup", ["--no-near-dedup"]),
    ("+near dedup", []),
    ("+detector", ["DETECTOR"]),
    ("+sampling", ["DETECTOR", "--min-real-fraction", "0.5", "--sample-fraction", "0.5"]),
]
FIXED_STEP = "topic model fit"
TWO_PROCESSES = ["--direct_num_workers=2", "--direct_running_mode=multi_processing"]
TARGET_MB_PER_S, TARGET_CORES = 4.0, 2  # the end-to-end target of the scale-out issue
SCALES = (1, 4, 8)  # corpus multiples of the memory and marginal-throughput runs
FIXED_COST_DOCS = 20


def transform_count(flags: list[str]) -> int:
    """Transforms (leaves and composites) in the job's runner-API proto; builds the graph, runs nothing.

    The output is claimed only to build the writer, then abandoned: nothing is left behind.
    """
    job = curate.plan_job(flags)
    attempt = storage.claim_output(job.write.output, job.write.overwrite, job.run_id)
    try:
        pipeline = beam.Pipeline(runner="FnApiRunner")
        curate.build(pipeline, job, attempt)
        return len(pipeline.to_runner_api().components.transforms)
    finally:
        attempt.abandon()


def write_corpus(path: str, docs: int) -> int:
    """Half "real", half "synthetic" texts with planted near and exact copies; returns bytes written."""
    real, _ = planted_corpus(docs // 2, REAL_SEED)
    synthetic, _ = planted_corpus(docs - docs // 2, SYNTHETIC_SEED)
    rng = random.Random(0)
    records = [("human", t) for t in real] + [("ai", t) for t in synthetic]
    records += rng.sample(records, int(EXACT_COPY_SHARE * len(records)))
    rng.shuffle(records)
    with open(path, "w") as f:
        for i, (origin, text) in enumerate(records[:docs]):
            record = {"id": f"d{i}", "text": text}
            if i % 2:  # declared on half; the detector decides the rest
                record["origin"] = origin
            f.write(json.dumps(record) + "\n")
    return os.path.getsize(path)


def train_tiny_detector(work: str) -> str:
    """A fast detector trained on labelled texts of both generators (a slice of the corpus's)."""
    labelled = os.path.join(work, "labelled.jsonl")
    with open(labelled, "w") as f:
        for label, seed in (("real", REAL_SEED), ("synthetic", SYNTHETIC_SEED)):
            texts, _ = planted_corpus(LABELLED_PER_SIDE, seed)
            for i, text in enumerate(texts):
                f.write(json.dumps({"id": f"{label}-{i}", "text": text, "label": label}) + "\n")
    model_dir = os.path.join(work, "detector")
    with contextlib.redirect_stdout(io.StringIO()):
        trained = train_detector.main(["--input", labelled, "--output", model_dir, "--domain-field", "",
                                       "--generator-field", "", "--dim", "16", "--epoch", "3"])
    if trained != 0:
        raise RuntimeError(f"training the benchmark's detector failed (exit {trained}; stderr says why)")
    return model_dir


# Runs the job and reports the peak RSS of its own address space (VmHWM). wait4's
# ru_maxrss would also count the parent's image copied at fork, before exec.
MEASURED_CHILD = """
import atexit, runpy, sys
def report():
    with open('/proc/self/status') as status:
        peak = next(line for line in status if line.startswith('VmHWM:'))
    sys.stderr.write('\\nPEAK_RSS_KB ' + peak.split()[1] + '\\n')
atexit.register(report)
sys.argv = ['pipelines.curate', *sys.argv[1:]]
runpy.run_module('pipelines.curate', run_name='__main__')
"""


def _children_cpu_seconds() -> float:
    """User + system CPU of every waited-for descendant so far (the job and its worker processes)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_job(flags: list[str], profile_to: str | None = None) -> dict:
    """Runs ``pipelines.curate`` in a child process; wall seconds, peak RSS (MiB), manifest.

    The RSS is the launching process's (with one local worker, the whole job's);
    it is None for a profiled run.
    """
    if profile_to:
        command = [sys.executable, "-m", "cProfile", "-o", profile_to, "-m", "pipelines.curate", *flags]
    else:
        command = [sys.executable, "-c", MEASURED_CHILD, *flags]
    started, cpu_before = time.perf_counter(), _children_cpu_seconds()
    done = subprocess.run(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds, cpu_seconds = time.perf_counter() - started, _children_cpu_seconds() - cpu_before
    if done.returncode != 0:
        raise RuntimeError(f"curate failed: {done.stderr[-3000:]}")
    peaks = [line.split()[1] for line in done.stderr.splitlines() if line.startswith("PEAK_RSS_KB ")]
    output = flags[flags.index("--output") + 1]
    with open(os.path.join(output, "manifest.json")) as f:
        manifest = json.load(f)
    return {"seconds": seconds, "cpu_seconds": cpu_seconds, "peak_rss_mib": int(peaks[-1]) / 1024.0 if peaks else None,
            "manifest": manifest}


def fastest_of(trials: int, flags: list[str]) -> dict:
    """The fastest of ``trials`` runs (timing noise on a shared machine only adds),
    with the highest peak RSS seen."""
    runs = []
    for _ in range(trials):
        shutil.rmtree(flags[flags.index("--output") + 1], ignore_errors=True)
        runs.append(run_job(flags))
    fastest = min(runs, key=lambda r: r["seconds"])
    return {**fastest, "peak_rss_mib": max(r["peak_rss_mib"] for r in runs)}


def job_flags(corpus: str, output: str, stage_flags: list[str], detector: str) -> list[str]:
    flags = ["--input", f"{corpus}:source=web", "--output", output, "--origin-field", "origin",
             "--origin-values", "human=real,ai=synthetic", "--runner", "FnApiRunner"]
    for flag in stage_flags:
        flags += ["--detector", detector] if flag == "DETECTOR" else [flag]
    return flags


def library_work(corpus: str, detector_dir: str) -> dict:
    """The same per-document work without Beam, in this process: seconds per step.

    Every step runs on every document (the job runs scoring and sampling only on
    the documents dedup kept), so this slightly over-states the library's share.
    What the job needs beyond it is the framework's: moving elements between
    stages, grouping, and pipeline start-up.
    """
    exact, near, sampling = ExactDedupOptions(), NearDedupOptions(), SampleOptions()
    bands, rows = near.bands_and_rows
    detector = Detector.load(detector_dir)
    spec = InputSpec.parse(f"{corpus}:source=web")
    read_options = ReadOptions(inputs=(spec,), origin_field="origin", origin_values={"human": "real", "ai": "synthetic"})
    seconds: dict[str, float] = {}
    records = []

    def timed(step: str, work) -> None:
        started = time.perf_counter()
        work()
        seconds[step] = time.perf_counter() - started

    def read() -> None:
        with open(corpus, "rb") as stream:
            records.extend(row for tag, row in read_file(stream, corpus, spec, read_options) if tag == Fate.OUTPUT.tag)

    def batches(size: int) -> list[list[dict]]:
        return [records[i : i + size] for i in range(0, len(records), size)]

    timed("read (parse, validate)", read)
    texts = [r["text"] for r in records]
    timed("exact dedup key", lambda: [content_hash(normalize_text(t, exact.normalization)) for t in texts])
    timed("MinHash sketch + LSH bands",
          lambda: [band_keys(signature_array(sketch_text(t, near)), bands, rows) for t in texts])
    timed("detector scores", lambda: [detector.score([r["text"] for r in b]) for b in batches(LinearScorer.BATCH)])
    model = []
    timed(FIXED_STEP, lambda: model.append(
        fit_topic_model(texts, sampling.topics, sampling.seed, max_documents=sampling.topic_sample)))
    # The job tokenises each text once for its stratum key and the input's word counts.
    timed("stratum keys + input word counts", lambda: [
        keys_and_word_counts(b, sampling.strata_fields, sampling.length_buckets, model[0])
        for b in batches(STRATIFY_BATCH)
    ])

    def count_output_words() -> None:
        counter = CountWords(types_per_text=True, side="out")
        counter.start_bundle()
        for record in records:
            collections.deque(counter.process(record, window=GlobalWindow()), maxlen=0)
        collections.deque(counter.finish_bundle(), maxlen=0)

    timed("output word types", count_output_words)
    timed("Parquet encoding", lambda: encode_parquet(records, RECORD_SCHEMA, WriteOptions(output="unused")))
    # The fit runs once per job on a bounded sample: a fixed cost, not a per-MB one.
    per_document = sum(t for step, t in seconds.items() if step != FIXED_STEP)
    return {"documents": len(records), "seconds": {k: round(v, 3) for k, v in seconds.items()},
            "per_document_seconds": round(per_document, 3)}


def target_budget(library_mb_per_s: float, job_marginal_mb_per_s: float) -> dict:
    """What the issue's target leaves for the framework, in core-seconds per input MB.

    At TARGET_MB_PER_S on TARGET_CORES, each MB may take cores / rate core-seconds;
    the library work takes 1 / its rate, and the rest is all the framework may use.
    The job's framework cost is its marginal time per MB (one worker, so
    core-seconds) minus the library's.
    """
    allowed = TARGET_CORES / TARGET_MB_PER_S
    library = 1 / library_mb_per_s
    framework = 1 / job_marginal_mb_per_s - library
    return {"mb_per_s": TARGET_MB_PER_S, "cores": TARGET_CORES,
            "allowed_core_seconds_per_mb": round(allowed, 3), "library_core_seconds_per_mb": round(library, 3),
            "framework_budget_core_seconds_per_mb": round(allowed - library, 3),
            "job_framework_core_seconds_per_mb": round(framework, 3),
            "no_framework_ceiling_mb_per_s": round(TARGET_CORES * library_mb_per_s, 2)}


def fixed_and_per_mb(megabytes: list[float], values: list[float]) -> tuple[float, float]:
    """(intercept, slope) of the least-squares line of ``values`` over ``megabytes``."""
    n = len(megabytes)
    mean_x, mean_y = sum(megabytes) / n, sum(values) / n
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(megabytes, values)) / sum(
        (x - mean_x) ** 2 for x in megabytes
    )
    return mean_y - slope * mean_x, slope


def top_costs(profile_path: str, limit: int = 15) -> list[dict]:
    stats = pstats.Stats(profile_path)
    rows = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:limit]
    total = sum(v[2] for v in stats.stats.values())
    return [
        {"function": f"{os.path.relpath(file, REPO) if file.startswith(REPO) else file}:{line}({name})",
         "own_seconds": round(own, 2), "own_share": round(own / total, 3), "cumulative_seconds": round(cum, 2),
         "calls": calls}
        for (file, line, name), (_, calls, own, cum, _) in rows
    ]


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small corpus, for a smoke run")
    parser.add_argument("--docs", type=int, default=2000, help="documents at 1x (memory runs go to 4x)")
    parser.add_argument("--profile", action="store_true", help="also cProfile the full 1-worker run")
    parser.add_argument("--trials", type=int, default=2, help="runs per configuration; the fastest counts (2)")
    args = parser.parse_args(argv)
    docs = 300 if args.quick else args.docs
    if args.quick:
        args.trials = 1
    work = tempfile.mkdtemp(prefix="bench-e2e-")
    try:
        detector = train_tiny_detector(work)
        corpora = {}
        for scale in SCALES:
            path = os.path.join(work, f"corpus-{scale}x.jsonl")
            corpora[scale] = (path, write_corpus(path, docs * scale))
        tiny = os.path.join(work, "corpus-tiny.jsonl")
        write_corpus(tiny, FIXED_COST_DOCS)
        corpus, size = corpora[1]
        megabytes = size / 1e6

        def flags(name: str, stage_flags: list[str], scale: int = 1) -> list[str]:
            return job_flags(corpora[scale][0], os.path.join(work, name), stage_flags, detector)

        full = STAGES[-1][1]
        transforms = transform_count(flags("graph", full))
        fixed_cost = fastest_of(args.trials, job_flags(tiny, os.path.join(work, "tiny"), full, detector))
        stage_runs = [(name, fastest_of(args.trials, flags(f"stage{i}", stage_flags)))
                      for i, (name, stage_flags) in enumerate(STAGES)]
        one = stage_runs[-1][1]
        two = fastest_of(args.trials, flags("two-workers", full) + TWO_PROCESSES)
        assert two["manifest"]["tables"] == one["manifest"]["tables"], "2 workers wrote other shards than 1"
        memory = {1: one}
        for scale in SCALES[1:]:
            memory[scale] = fastest_of(args.trials, flags(f"memory{scale}x", full, scale))

        accounting = one["manifest"]["accounting"]
        results = {
            "documents": docs, "megabytes": round(megabytes, 3), "accounting": accounting,
            "transforms": transforms,
            "fixed_cost": {"documents": FIXED_COST_DOCS, "seconds": round(fixed_cost["seconds"], 2)},
            "throughput": {
                str(w): {"seconds": round(r["seconds"], 2), "cpu_seconds": round(r["cpu_seconds"], 2),
                         "mb_per_s": round(megabytes / r["seconds"], 4),
                         "docs_per_s": round(docs / r["seconds"], 1), "peak_rss_mib": round(r["peak_rss_mib"], 1)}
                for w, r in ((1, one), (2, two))
            },
            "stages": [], "memory": [],
        }
        previous = 0.0
        for name, run in stage_runs:
            added = run["seconds"] - previous
            previous = run["seconds"]
            results["stages"].append({"stage": name, "cumulative_seconds": round(run["seconds"], 2),
                                      "stage_seconds": round(added, 2), "share": round(added / one["seconds"], 3)})
        for scale, run in memory.items():
            results["memory"].append({"scale": f"{scale}x", "documents": docs * scale,
                                      "megabytes": round(corpora[scale][1] / 1e6, 2),
                                      "peak_rss_mib": round(run["peak_rss_mib"], 1),
                                      "seconds": round(run["seconds"], 2)})
        sizes = [m["megabytes"] for m in results["memory"]]
        fixed_seconds, seconds_per_mb = fixed_and_per_mb(sizes, [m["seconds"] for m in results["memory"]])
        base_mib, mib_per_mb = fixed_and_per_mb(sizes, [m["peak_rss_mib"] for m in results["memory"]])
        results["scaling"] = {
            "fixed_seconds": round(fixed_seconds, 2), "marginal_mb_per_s": round(1 / seconds_per_mb, 3),
            "base_rss_mib": round(base_mib, 1), "rss_mib_per_input_mb": round(mib_per_mb, 1),
            f"rss_growth_{SCALES[-1]}x_over_1x":
                round(results["memory"][-1]["peak_rss_mib"] / results["memory"][0]["peak_rss_mib"], 2),
        }
        # The baseline beside the job: its own library work on the 4x corpus, without Beam.
        library = library_work(corpora[4][0], detector)
        library_mb_per_s = corpora[4][1] / 1e6 / library["per_document_seconds"]
        results["library_work"] = {
            **library, "megabytes": round(corpora[4][1] / 1e6, 2), "mb_per_s": round(library_mb_per_s, 3),
            "core_seconds_per_mb": round(1 / library_mb_per_s, 3),
            "job_marginal_over_library": round(library_mb_per_s / results["scaling"]["marginal_mb_per_s"], 2),
        }
        results["target"] = target_budget(library_mb_per_s, results["scaling"]["marginal_mb_per_s"])
        if args.profile:
            profile_path = os.path.join(work, "curate.prof")
            run_job(flags("profiled", full) , profile_to=profile_path)
            results["profile_top_own_time"] = top_costs(profile_path)

        print(f"pipelines.curate, every stage on: {docs} documents, {megabytes:.2f} MB, "
              f"{accounting['output']} written, {accounting['duplicate']} duplicates, "
              f"{accounting['not_selected']} not selected")
        print(f"graph: {transforms} transforms; fixed cost: {results['fixed_cost']['seconds']} s "
              f"for {FIXED_COST_DOCS} documents")
        print_table(["workers", "seconds", "CPU seconds", "MB/s", "docs/s", "peak RSS MiB"],
                    [(w, t["seconds"], t["cpu_seconds"], t["mb_per_s"], t["docs_per_s"], t["peak_rss_mib"])
                     for w, t in results["throughput"].items()])
        print("(with 2 workers the peak RSS is the launching process's; each worker process holds its own share)")
        print("\nper-stage share (1 worker; each row adds one stage)")
        print_table(["stage", "run seconds", "stage seconds", "share"],
                    [(s["stage"], s["cumulative_seconds"], s["stage_seconds"], s["share"]) for s in results["stages"]])
        print("\npeak RSS of the full 1-worker run")
        print_table(["scale", "documents", "MB", "peak RSS MiB", "seconds"],
                    [(m["scale"], m["documents"], m["megabytes"], m["peak_rss_mib"], m["seconds"])
                     for m in results["memory"]])
        scaling = results["scaling"]
        growth = scaling[f"rss_growth_{SCALES[-1]}x_over_1x"]
        print(f"fit over {'/'.join(f'{s}x' for s in SCALES)}: {scaling['fixed_seconds']} s fixed + "
              f"{scaling['marginal_mb_per_s']} MB/s marginal; RSS {scaling['base_rss_mib']} MiB + "
              f"{scaling['rss_mib_per_input_mb']} MiB per input MB ({SCALES[-1]}x the input: {growth}x the RSS)")
        library = results["library_work"]
        print(f"\nthe job's library work without Beam, one core, on the 4x corpus ({library['megabytes']} MB)")
        print_table(["step", "seconds", "MB/s"],
                    [(step, t, round(library["megabytes"] / t, 1)) for step, t in library["seconds"].items()]
                    + [("total per document (all but the fit)", library["per_document_seconds"], library["mb_per_s"])])
        print(f"library work: {library['core_seconds_per_mb']} core-seconds per MB")
        print(f"the job's marginal time per MB is {library['job_marginal_over_library']}x its library work's")
        target = results["target"]
        print(f"target {target['mb_per_s']} MB/s on {target['cores']} cores: "
              f"{target['allowed_core_seconds_per_mb']} core-s per MB, of which the library work takes "
              f"{target['library_core_seconds_per_mb']}, leaving {target['framework_budget_core_seconds_per_mb']} "
              f"for the framework; the job's framework takes {target['job_framework_core_seconds_per_mb']} "
              f"(no-framework ceiling on {target['cores']} cores, perfect split, no fixed costs: "
              f"{target['no_framework_ceiling_mb_per_s']} MB/s)")
        if args.profile:
            print("\nprofile, top functions by own time (full run, 1 worker)")
            print_table(["function", "own s", "share", "cum s", "calls"],
                        [(p["function"][-90:], p["own_seconds"], p["own_share"], p["cumulative_seconds"], p["calls"])
                         for p in results["profile_top_own_time"]])
        print("results:", write_results("e2e_quick" if args.quick else "e2e", results))
        return results
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
