"""Leave-one-domain-out generalisation of the detector.

    python -m bench.detector_lodo [--window-tokens 64 --word-ngrams 2 ...] [--quick]

For each domain of the dev data (../shared/data/detect/dev.jsonl.gz): train on
the other domains, score the held-out one, report its AUROC (1.0 perfect, 0.5
chance, below 0.5 inverted). Also the in-domain reference: the usual stratified
split over all domains. Writes bench/results/detector_lodo.json (about ten
minutes on 2 cores; ``--quick``: a fifth of the documents, one epoch, a smoke run
written to detector_lodo_quick.json).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

import numpy as np

from curation.detection import metrics
from curation.detection.cli import add_train_config_arguments, train_config
from curation.detection.labelled import load_labelled
from curation.detection.classifier import train_model
from curation.detection.scorer import score_texts
from curation.detection.training import train_detector

REPO = pathlib.Path(__file__).resolve().parents[1]
DEV_DATA = REPO / ".." / "shared" / "data" / "detect" / "dev.jsonl.gz"
RESULTS = REPO / "bench" / "results" / "detector_lodo.json"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="a fifth of the documents, one epoch: a smoke run")
    add_train_config_arguments(parser)
    args = parser.parse_args(argv)
    if not DEV_DATA.exists():
        sys.exit(f"skipped: dev data not found at {DEV_DATA}")
    if args.quick:
        args.epoch = 1
    config = train_config(args)
    docs = load_labelled(str(DEV_DATA))
    if args.quick:
        docs = docs[::5]
    start = time.perf_counter()
    held_out_auroc = {}
    for domain in sorted({d.domain for d in docs}):
        model = train_model([d for d in docs if d.domain != domain], config, args.seed)
        held_out = [d for d in docs if d.domain == domain]
        scores = score_texts(model, [d.text for d in held_out], config)
        held_out_auroc[domain] = metrics.auroc([d.is_synthetic for d in held_out], scores)
        print(f"held out {domain:<18} AUROC {held_out_auroc[domain]:.4f}", flush=True)
    _, metadata = train_detector(docs, config, args.seed)
    in_domain = metadata["metrics"]["test"]
    result = {
        "config": vars(args),
        "lodo_auroc": held_out_auroc,
        "lodo_mean_auroc": float(np.mean(list(held_out_auroc.values()))),
        "in_domain_test": in_domain,
        "seconds": round(time.perf_counter() - start, 1),
    }
    print(f"LODO mean AUROC {result['lodo_mean_auroc']:.4f}; in-domain test AUROC {in_domain['overall']['auroc']:.4f}")
    path = RESULTS.with_name("detector_lodo_quick.json") if args.quick else RESULTS
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
