"""Simulate model collapse: recursive n-gram training under replace / uncurated / curated data.

    python -m pipelines.simulate_collapse --output DIR [--input REAL.jsonl] [--generations 5]

Generation 0 is an n-gram model trained on real documents (a training split; a
held-out split is kept for the metrics). Each later generation trains on what its
policy assembles from the real data and the earlier generations' samples; the
``curated`` policy writes that mix as JSONL and runs this project's curate job on
it (exact + near dedup, a detector trained on the crawl's declared records for
the undeclared ones, --min-real-fraction, tail-preserving sampling), then trains
on the shards it wrote. Writes DIR/results.json, one PNG
per metric and DIR/summary.md. Without --input the real documents are the
embedded demo corpus's real side (stdlib docstrings), built offline.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import pathlib
import random
import sys
import time
from typing import Any

import pyarrow.dataset as ds

from curation.demo.corpus import real_documents
from curation.reading.core import DOCUMENT, ReadOptions
from curation.reading.transforms import iter_inputs
from curation.simulation import report
from curation.simulation.loop import Curator, SimulationConfig, simulate, split_real
from curation.simulation.policies import REAL, Document, Policy
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
    cur = parser.add_argument_group("curated policy (the curate job's settings)")
    cur.add_argument("--min-real-fraction", type=float, default=0.8, help="every shard's real floor (default: 0.8)")
    cur.add_argument(
        "--sample-fraction", type=float, default=1.0,
        help="share of the deduplicated mix to select, as far as the real floor allows (default: 1)",
    )
    cur.add_argument("--undeclared-share", type=float, default=0.2, help="crawled records with no origin (0.2)")
    cur.add_argument(
        "--assume-undeclared-synthetic", action="store_true",
        help="count undeclared records as synthetic (--assume-origin synthetic) instead of deciding them with a "
        "detector trained (pipelines.train_detector) on the declared records of each generation's crawl",
    )
    cur.add_argument("--topics", type=int, default=0, help="k-means topics in the strata (default: 0, none)")
    cur.add_argument("--num-perm", type=int, default=128, help="MinHash permutations for near dedup (default: 128)")
    return parser


def read_real_documents(args: argparse.Namespace) -> list[Document]:
    """The real documents: the demo corpus's real side, or --input's valid records (through the shared reader)."""
    if args.input is None:
        return [Document(d["id"], d["text"], d["module"], REAL) for d in real_documents()]
    options = ReadOptions(inputs=(args.input,), text_field=args.text_field, id_field=None, run_id="simulation")
    documents, skipped = [], 0
    for tag, row in iter_inputs(options):
        if tag != DOCUMENT:
            skipped += 1
            continue
        source = json.loads(row["metadata"]).get(args.source_field, "input") if args.source_field else "input"
        documents.append(Document(f"real-{len(documents)}", row["text"], str(source), REAL))
    if skipped:
        _LOG.warning("skipped %d records the reader rejected (see curation's rejection reasons)", skipped)
    return documents


def curate_job(args: argparse.Namespace, work: pathlib.Path) -> Curator:
    """The curated policy's filter: the mix as JSONL -> pipelines.curate -> the shards' (id, text)."""

    def run(records: list[dict[str, Any]], generation: int) -> list[tuple[str, str]]:
        folder = work / f"gen-{generation}"
        folder.mkdir(parents=True, exist_ok=True)
        mix = folder / "web.jsonl"
        mix.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
        output = folder / "output"
        origin_rule = ["--assume-origin", "synthetic"]
        with contextlib.redirect_stdout(io.StringIO()):  # the jobs' own tables are for their CLI users
            if not args.assume_undeclared_synthetic:
                labelled = folder / "declared.jsonl"
                labelled.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records if "origin" in r))
                train_detector.main([
                    "--input", str(labelled), "--output", str(folder / "detector"), "--label-field", "origin",
                    "--label-map", "real=real,synthetic=synthetic", "--domain-field", "module",
                    "--generator-field", "", "--seed", str(args.seed),
                ])
                origin_rule = ["--detector", str(folder / "detector")]
            manifest = curate.run([
                "--input", f"{mix}:source=web", "--origin-field", "origin", *origin_rule,
                "--strata-fields", "module", "--topics", str(args.topics), "--num-perm", str(args.num_perm),
                "--min-real-fraction", str(args.min_real_fraction), "--sample-fraction", str(args.sample_fraction),
                "--output", str(output), "--overwrite", "--seed", str(args.seed), "--shard-rows", "1000000",
            ])
        _LOG.info("curate gen %d: %s", generation, manifest["accounting"])
        table = ds.dataset(str(output / "data"), format="parquet").to_table(columns=["id", "text"]).sort_by("id")
        return list(zip(table["id"].to_pylist(), table["text"].to_pylist()))

    return run


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    common.configure_logging()
    started = time.perf_counter()
    try:
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
    results = simulate(train, heldout, config, curate_job(args, output / "curated"))
    results["curate"] = {k: getattr(args, k) for k in ("min_real_fraction", "sample_fraction", "topics", "num_perm")}
    results["curate"]["detector"] = not args.assume_undeclared_synthetic
    (output / "results.json").write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    report.plot_metrics(results, output)
    runtime = time.perf_counter() - started
    (output / "summary.md").write_text(report.summary_markdown(results, runtime))
    print(f"{output / 'summary.md'} ({runtime:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
