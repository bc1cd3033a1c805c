"""``make demo``: builds the embedded default corpus and runs the main job on it.

    python -m pipelines.demo [--workdir build/demo] [--seed 0]

Needs nothing but this package: the corpus is generated offline from the Python
standard library's docstrings (see :mod:`curation.demo.corpus`).
"""

from __future__ import annotations

import argparse
import os
import sys

from curation.demo.corpus import write_demo_corpus
from curation.provenance.manifest import summarize
from pipelines import common, curate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.demo", description=__doc__.split("\n")[0])
    parser.add_argument("--workdir", default="build/demo", help="where the corpus and the output go")
    parser.add_argument("--seed", type=int, default=0)
    args, beam_args = parser.parse_known_args(argv)
    common.configure_logging()
    os.makedirs(args.workdir, exist_ok=True)
    corpus = os.path.join(args.workdir, "corpus.jsonl")
    output = os.path.join(args.workdir, "output")
    planted = write_demo_corpus(corpus, seed=args.seed, manifest_path=os.path.join(args.workdir, "planted.json"))
    print(
        f"demo corpus: {planted['good_records']} good records and {len(planted['bad_records'])} bad lines "
        f"from {len(planted['real_docs_per_source'])} sources -> {corpus}"
    )
    manifest = curate.run(
        [
            "--input", corpus,
            "--origin-field", "origin", "--origin-values", "human=real,ai=synthetic",
            "--output", output, "--overwrite", "--seed", str(args.seed), "--shard-rows", "2000",
            *beam_args,
        ]
    )
    print(summarize(manifest))
    print(f"output: {os.path.abspath(output)}  (data/, rejected/, manifest.json)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
