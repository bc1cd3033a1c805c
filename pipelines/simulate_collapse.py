"""Simulate model collapse: recursive n-gram training under replace / uncurated / curated data.

    python -m pipelines.simulate_collapse --output DIR [--input REAL.jsonl] [--generations 5]

Generation 0 is an n-gram model trained on real documents (a training split; a
held-out split is kept for the metrics). Each later generation trains on what its
policy assembles from the real data and the earlier generations' samples; the
``curated`` policy writes that mix as JSONL and runs this project's curate job on
it (exact + near dedup, a detector trained on the crawl's declared records for
the undeclared ones, --min-real-fraction, tail-preserving sampling), then trains
on the shards it wrote. A sweep (--real-fractions) reruns the curated policy at
each real floor, once on the crawl as configured and once with every origin
declared, and --seed-replicates reruns the default curated chain under other
seeds to measure the seed spread; the chains run in --workers processes (the
results do not depend on how many). Writes DIR/results.json, one PNG per metric
(generations on x), the sweep's two PNGs (generation N against the real floor)
and DIR/summary.md with the acceptance checks. Without --input the real documents
are the embedded demo corpus's real side (stdlib docstrings), built offline.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import logging
import os
import pathlib
import random
import sys
import time
from typing import Any

import pyarrow.dataset as ds

from curation.demo.corpus import real_documents
from curation.reading.options import ReadOptions
from curation.reading.transforms import iter_inputs
from curation.schema import Fate
from curation.simulation import report
from curation.simulation.loop import CuratedChain, SimulationConfig, simulate, split_real
from curation.simulation.policies import REAL, SYNTHETIC, Document, Policy
from pipelines import common, curate, train_detector

_LOG = logging.getLogger("pipelines.simulate_collapse")


def build_parser() -> argparse.ArgumentParser:
    parser = common.JobArgumentParser(prog="python -m pipelines.simulate_collapse", description=__doc__.split("\n")[0])
    data = parser.add_argument_group("real data")
    data.add_argument("--input", help="JSONL(.gz) of real documents (default: the demo corpus's real side)")
    data.add_argument("--text-field", default="text", help="field holding the text (default: text)")
    data.add_argument("--source-field", help="field naming each document's source, a sampling stratum (default: none)")
    data.add_argument(
        "--real-docs", type=int, default=1200, help="use a seeded subset of this many real documents; 0: all (1200)"
    )
    data.add_argument("--heldout-fraction", type=float, default=0.1, help="real documents held out (default: 0.1)")
    sim = parser.add_argument_group("simulation")
    sim.add_argument("--output", required=True, help="for results.json, the plots, summary.md and the curate runs")
    sim.add_argument("--generations", type=int, default=5, help="generations after generation 0 (default: 5)")
    sim.add_argument("--policies", default=",".join(p.value for p in Policy), help="comma-separated (default: all)")
    sim.add_argument("--order", type=int, default=3, help="n-gram order (default: 3)")
    sim.add_argument("--temperature", type=float, default=0.9, help="sampling temperature (default: 0.9)")
    sim.add_argument("--top-p", type=float, default=0.9, help="nucleus sampling mass; 1: none (default: 0.9)")
    sim.add_argument("--top-k", type=int, default=None, help="keep the k most probable tokens (default: none)")
    sim.add_argument(
        "--share-step", type=float, default=0.15, help="the web's synthetic share grows this much per generation (0.15)"
    )
    sim.add_argument("--max-synthetic-share", type=float, default=0.75, help="its cap (default: 0.75)")
    sim.add_argument("--rare-max-count", type=int, default=5, help="a real word type is rare at most this often (5)")
    sim.add_argument("--seed", type=int, default=0)
    sim.add_argument(
        "--workers", type=int, default=2,
        help="processes running the chains after generation 0; the results do not depend on it (default: 2)",
    )
    cur = parser.add_argument_group("curated policy (the curate job's settings)")
    cur.add_argument(
        "--min-real-fraction", type=float, default=0.8, help="the curated policy's real floor in every shard (0.8)"
    )
    cur.add_argument(
        "--real-fractions", default="0.5,0.8,0.95",
        help="comma-separated real floors to sweep the curated policy over, each on the crawl as configured and "
        "with every origin declared; empty: no sweep (default: 0.5,0.8,0.95)",
    )
    cur.add_argument(
        "--seed-replicates", type=int, default=2,
        help="rerun the curated policy with this many other chain seeds, to measure the seed spread (default: 2)",
    )
    cur.add_argument(
        "--sample-fraction", type=float, default=1.0,
        help="share of the deduplicated mix to select, as far as the real floor allows (default: 1)",
    )
    cur.add_argument(
        "--ratio-unit", choices=("rows", "bytes"), default="bytes",
        help="what the real floor counts: documents, or UTF-8 bytes of text, what a model learns from (default: bytes)",
    )
    cur.add_argument("--undeclared-share", type=float, default=0.2, help="crawled records with no origin (0.2)")
    cur.add_argument(
        "--assume-undeclared-synthetic", action="store_true",
        help="count undeclared records as synthetic (--assume-origin synthetic) instead of deciding them with a "
        "detector trained (pipelines.train_detector) on the declared records of each generation's crawl",
    )
    cur.add_argument(
        "--detector-max-synthetic-share", type=float, default=0.05,
        help="the detector's calibration target (train_detector --max-synthetic-share): at most this share of "
        "synthetic validation documents count as real. A generation's crawl holds 13 to 380 synthetic validation "
        "documents; a 1%% target on so few is their single lowest score, so the share of real documents kept swings "
        "by chance (27%% to 73%%); 5%% is the smallest round target the trainer can vouch for from generation 2 on "
        "(default: 0.05)",
    )
    cur.add_argument("--topics", type=int, default=0, help="k-means topics in the strata (default: 0, none)")
    cur.add_argument("--num-perm", type=int, default=128, help="MinHash permutations for near dedup (default: 128)")
    return parser


def parse_real_fractions(text: str) -> tuple[float, ...]:
    """--real-fractions: comma-separated numbers, empty for no sweep (SimulationConfig checks the range)."""
    try:
        return tuple(float(r) for r in text.split(",") if r.strip())
    except ValueError:
        raise ValueError(f"--real-fractions: give comma-separated real fractions such as 0.5,0.8,0.95, got {text!r}")


def read_real_documents(args: argparse.Namespace) -> list[Document]:
    """The real documents: the demo corpus's real side, or --input's valid records (through the shared reader)."""
    if args.input is None:
        return [Document(d["id"], d["text"], d["module"], REAL) for d in real_documents()]
    options = ReadOptions(inputs=(args.input,), text_field=args.text_field, id_field=None, run_id="simulation")
    documents, skipped = [], 0
    for tag, row in iter_inputs(options):
        if tag != Fate.OUTPUT.tag:
            skipped += 1
            continue
        source = json.loads(row["metadata"]).get(args.source_field, "input") if args.source_field else "input"
        documents.append(Document(f"real-{len(documents)}", row["text"], str(source), REAL))
    if skipped:
        _LOG.warning("skipped %d records the reader rejected (see curation's rejection reasons)", skipped)
    return documents


def curate_argv(args: argparse.Namespace, chain: CuratedChain, mix: pathlib.Path, origin_rule: list[str],
                output: pathlib.Path) -> list[str]:
    """The curate job's flags for one chain's generation: the one place the curated policy's settings go in."""
    return [
        "--input", f"{mix}:source=web", "--origin-field", "origin", *origin_rule,
        "--strata-fields", "module", "--topics", str(args.topics), "--num-perm", str(args.num_perm),
        "--min-real-fraction", str(chain.real_fraction), "--ratio-unit", args.ratio_unit,
        "--sample-fraction", str(args.sample_fraction),
        "--output", str(output), "--overwrite", "--seed", str(chain.seed), "--shard-rows", "1000000",
    ]


class CurateJob:
    """The curated policy's filter (a :data:`Curator`): the mix as JSONL -> pipelines.curate -> the shards' (id, text).

    A detector is trained on each crawl's declared records, unless no record is
    undeclared or they count as synthetic; the same declared records (the sweep's
    first generation: one mix for every real floor) reuse the detector already
    trained in this process. Pickles (empty-handed) into the simulation's worker processes.
    """

    def __init__(self, args: argparse.Namespace, work: pathlib.Path):
        self.args, self.work = args, work
        self.detectors: dict[str, pathlib.Path] = {}

    def __call__(self, records: list[dict[str, Any]], generation: int, chain: CuratedChain) -> list[tuple[str, str]]:
        args = self.args
        folder = self.work / chain.name / f"gen-{generation}"
        folder.mkdir(parents=True, exist_ok=True)
        mix = folder / "web.jsonl"
        mix.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
        output = folder / "output"
        origin_rule = ["--assume-origin", "synthetic"]
        with contextlib.redirect_stdout(io.StringIO()):  # the jobs' own tables are for their CLI users
            if not args.assume_undeclared_synthetic and any("origin" not in r for r in records):
                origin_rule = ["--detector", str(self._detector(records, generation, chain, folder))]
            manifest = curate.run(curate_argv(args, chain, mix, origin_rule, output))
        _LOG.info("curate %s gen %d: %s", chain.name, generation, manifest["accounting"])
        table = ds.dataset(str(output / Fate.OUTPUT.table), format="parquet").to_table(columns=["id", "text"]).sort_by("id")
        return list(zip(table["id"].to_pylist(), table["text"].to_pylist()))

    def _detector(self, records: list[dict[str, Any]], generation: int, chain: CuratedChain,
                  folder: pathlib.Path) -> pathlib.Path:
        """A detector trained on the crawl's declared records (seeded by the chain), trained once per process."""
        declared = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records if "origin" in r)
        key = hashlib.sha256(f"{chain.seed}\n{declared}".encode()).hexdigest()
        if key not in self.detectors:
            labelled = folder / "declared.jsonl"
            labelled.write_text(declared, encoding="utf-8")
            try:
                train_detector.train(train_detector.parse_args([
                    "--input", str(labelled), "--output", str(folder / "detector"), "--label-field", "origin",
                    "--label-map", "real=real,synthetic=synthetic", "--domain-field", "module",
                    "--generator-field", "", "--seed", str(chain.seed),
                    "--max-synthetic-share", str(self.args.detector_max_synthetic_share),
                ]))
            except ValueError as err:  # too few declared records of one origin: a setting the user can change
                synthetic = sum(r.get("origin") == SYNTHETIC for r in records)
                raise ValueError(
                    f"{chain.name} generation {generation}: no detector from the crawl's {synthetic} declared "
                    f"synthetic records ({err}); use more real documents, a larger --share-step or "
                    "--assume-undeclared-synthetic"
                ) from err
            self.detectors[key] = folder / "detector"
        return self.detectors[key]


def _cpu_seconds() -> float:
    """User + system time of this process and its finished children: what the run costs a shared machine."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    common.configure_logging()
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    try:
        if args.workers < 1:
            raise ValueError(f"--workers must be >= 1, got {args.workers}")
        config = SimulationConfig(
            generations=args.generations,
            policies=tuple(Policy(p.strip()) for p in args.policies.split(",") if p.strip()),
            order=args.order,
            temperature=args.temperature,
            top_k=args.top_k,
            top_p=None if args.top_p == 1 else args.top_p,
            share_step=args.share_step,
            max_synthetic_share=args.max_synthetic_share,
            undeclared_share=args.undeclared_share,
            rare_max_count=args.rare_max_count,
            min_real_fraction=args.min_real_fraction,
            real_fractions=parse_real_fractions(args.real_fractions),
            seed_replicates=args.seed_replicates,
            seed=args.seed,
        )
        documents = read_real_documents(args)
        if args.real_docs and len(documents) > args.real_docs:
            documents = random.Random(f"{args.seed}:real-docs").sample(documents, args.real_docs)
        train, heldout = split_real(documents, args.heldout_fraction, args.seed)
    except (ValueError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    output = pathlib.Path(args.output)
    output.mkdir(parents=True, exist_ok=True)
    try:
        results = simulate(train, heldout, config, CurateJob(args, output / "curated"), args.workers,
                           common.configure_logging)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    # As curate_argv passes them.
    curated = ("min_real_fraction", "ratio_unit", "sample_fraction", "topics", "num_perm", "detector_max_synthetic_share")
    results["curate"] = {k: getattr(args, k) for k in curated}
    results["curate"]["detector"] = not args.assume_undeclared_synthetic
    (output / "results.json").write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    report.plot_metrics(results, output)
    report.plot_sweep(results, output)
    runtime, cpu = time.perf_counter() - started, _cpu_seconds() - cpu_started
    (output / "summary.md").write_text(report.summary_markdown(results, runtime, cpu))
    print(f"{output / 'summary.md'} ({runtime:.0f} s wall, {cpu:.0f} s CPU)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
