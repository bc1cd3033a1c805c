"""Detector scoring speed: ScoreSynthetic in a Beam pipeline vs raw fastText batch predict.

    python -m bench.detector_speed [--model MODEL_DIR] [--repeat 3]

Scores the dev documents (../shared/data/detect/dev.jsonl.gz) repeated --repeat
times four ways on one core: raw ``model.predict(list)`` on whole documents
(newlines replaced, the least fastText needs), ``Detector.score`` (adds
preprocessing and windowing), ScoreSynthetic in a FnApiRunner pipeline, and the
same pipeline with a no-op in its place (Beam's own cost, subtracted for the net
ratio). Without --model it trains one on the dev data first. Writes
bench/results/detector_speed.json.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import tempfile
import time

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from curation.detection.labelled import load_labelled
from curation.detection.model import Detector
from curation.detection.training import train_detector, write_model_dir
from curation.detection.transforms import ScoreSynthetic, ScoreSyntheticOptions

REPO = pathlib.Path(__file__).resolve().parents[1]
DEV_DATA = REPO / ".." / "shared" / "data" / "detect" / "dev.jsonl.gz"
RESULTS = REPO / "bench" / "results" / "detector_speed.json"


def _timed(action) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def _run_pipeline(records: list[dict], transform: beam.PTransform) -> None:
    options = PipelineOptions(["--runner=FnApiRunner", "--direct_num_workers=1"])
    with beam.Pipeline(options=options) as pipeline:
        _ = pipeline | beam.Create(records, reshuffle=False) | transform | beam.combiners.Count.Globally()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="model directory; default: train one on the dev data")
    parser.add_argument("--repeat", type=int, default=3, help="times the dev documents are scored")
    args = parser.parse_args(argv)
    if not DEV_DATA.exists():
        sys.exit(f"skipped: dev data not found at {DEV_DATA}")
    docs = load_labelled(str(DEV_DATA))
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = args.model
        if model_dir is None:
            model_dir = tmp
            write_model_dir(*train_detector(docs), model_dir)
        detector = Detector.load(model_dir)
        texts = [d.text for d in docs] * args.repeat
        megabytes = sum(len(t.encode("utf-8")) for t in texts) / 1e6
        records = [{"id": str(i), "text": t} for i, t in enumerate(texts)]
        seconds = {
            "raw_fasttext_predict": _timed(lambda: detector.model.predict([" ".join(t.split()) for t in texts], k=2)),
            "detector_score": _timed(lambda: detector.score(texts)),
            "beam_score_synthetic": _timed(
                lambda: _run_pipeline(records, ScoreSynthetic(ScoreSyntheticOptions(model_dir=model_dir)))
            ),
            "beam_no_op": _timed(lambda: _run_pipeline(records, beam.Map(lambda r: r))),
        }
    result = {
        "documents": len(texts),
        "megabytes": round(megabytes, 2),
        "seconds": {k: round(v, 3) for k, v in seconds.items()},
        "mb_per_second": {k: round(megabytes / v, 2) for k, v in seconds.items()},
        "ratio_beam_vs_raw": round(seconds["beam_score_synthetic"] / seconds["raw_fasttext_predict"], 2),
        "ratio_beam_net_of_no_op_vs_raw": round(
            (seconds["beam_score_synthetic"] - seconds["beam_no_op"]) / seconds["raw_fasttext_predict"], 2
        ),
        "ratio_detector_score_vs_raw": round(seconds["detector_score"] / seconds["raw_fasttext_predict"], 2),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
