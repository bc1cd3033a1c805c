"""Detector scoring speed: ScoreSynthetic in a Beam pipeline vs raw fastText batch predict.

    python -m bench.detector_speed [--model MODEL_DIR] [--repeat 3] [--trials 3] [--quick]

Scores the dev documents (../shared/data/detect/dev.jsonl.gz) repeated --repeat
times (about 33 MB at 3) on one core: raw ``model.predict(list)`` on whole
documents (newlines replaced, the least fastText needs), ``Detector.score``,
ScoreSynthetic in a FnApiRunner pipeline, and the same pipeline with a no-op in
its place (Beam's own cost). Both pipelines read the documents from one JSONL
file, so they differ only in the scoring. The net ratio is (pipeline with
ScoreSynthetic - pipeline with the no-op) / raw predict; it includes the fixed
cost of loading the model in the DoFn's setup, which is also reported on its own,
and the ratio without it. Every timing is the fastest of --trials runs, taken
in turn (the machine may be shared). Without --model it trains one on the dev
data first.
Writes bench/results/detector_speed.json.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import tempfile
import time
from typing import Iterator

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions

from curation.detection.labelled import load_labelled
from curation.detection.detector import MODEL_BIN, Detector
from curation.detection.model_dir import load_detector
from curation.detection.training import train_detector, write_model_dir
from curation.detection.options import ScoreSyntheticOptions
from curation.detection.transforms import ScoreSynthetic

REPO = pathlib.Path(__file__).resolve().parents[1]
DEV_DATA = REPO / ".." / "shared" / "data" / "detect" / "dev.jsonl.gz"
RESULTS_DIR = REPO / "bench" / "results"


def _read_records(path: str) -> Iterator[dict]:
    with open(path, encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)


def _run_pipeline(records_path: str, transform: beam.PTransform) -> None:
    # Records are read inside the pipeline: beam.Create would pickle and compress
    # them all into the job graph, seconds that dwarf and blur the scoring.
    options = PipelineOptions(["--runner=FnApiRunner", "--direct_num_workers=1"])
    with beam.Pipeline(options=options) as pipeline:
        _ = (
            pipeline
            | beam.Create([records_path])
            | beam.FlatMap(_read_records)
            | transform
            | beam.combiners.Count.Globally()
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="model directory; default: train one on the dev data")
    parser.add_argument("--repeat", type=int, default=3, help="times the dev documents are scored")
    parser.add_argument("--trials", type=int, default=3, help="runs of each timing; the fastest counts")
    parser.add_argument("--quick", action="store_true", help="one pass, one trial, for a smoke run")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeat, args.trials = 1, 1
    if not DEV_DATA.exists():
        sys.exit(f"skipped: dev data not found at {DEV_DATA}")
    docs = load_labelled(str(DEV_DATA))
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = args.model
        if model_dir is None:
            model_dir = f"{tmp}/model"
            write_model_dir(*train_detector(docs), model_dir)
        records_path = f"{tmp}/records.jsonl"
        with open(records_path, "w", encoding="utf-8") as f:
            for i in range(args.repeat):
                f.writelines(json.dumps({"id": f"{i}-{d.id}", "text": d.text}) + "\n" for d in docs)
        # Read back: distinct strings, as a job's records are.
        texts = [record["text"] for record in _read_records(records_path)]
        megabytes = sum(len(t.encode("utf-8")) for t in texts) / 1e6
        detector = Detector.load(model_dir)
        score = ScoreSynthetic(ScoreSyntheticOptions(model_dir=model_dir))
        no_op = beam.Map(lambda record: record)
        timed = {
            "raw_fasttext_predict": lambda: detector.model.predict([t.replace("\n", " ") for t in texts], k=2),
            "detector_score": lambda: detector.score(texts),
            "setup_copy_and_load": lambda: load_detector(model_dir),
            "beam_no_op": lambda: _run_pipeline(records_path, no_op),
            "beam_score_synthetic": lambda: _run_pipeline(records_path, score),
        }
        # Round-robin, so that a slow spell of the shared machine hits all alike.
        runs: dict[str, list[float]] = {name: [] for name in timed}
        for _ in range(args.trials):
            for name, action in timed.items():
                start = time.perf_counter()
                action()
                runs[name].append(time.perf_counter() - start)
        seconds = {name: min(times) for name, times in runs.items()}
        model_megabytes = pathlib.Path(model_dir, MODEL_BIN).stat().st_size / 1e6
    raw = seconds["raw_fasttext_predict"]
    net = seconds["beam_score_synthetic"] - seconds["beam_no_op"]
    result = {
        "documents": len(texts),
        "megabytes": round(megabytes, 2),
        "model_bin_megabytes": round(model_megabytes, 1),
        "trials": args.trials,
        "seconds": {k: round(v, 3) for k, v in seconds.items()},
        "runs_seconds": {k: [round(v, 3) for v in times] for k, times in runs.items()},
        "mb_per_second": {
            k: round(megabytes / seconds[k], 2)
            for k in ("raw_fasttext_predict", "detector_score", "beam_score_synthetic", "beam_no_op")
        },
        "ratio_detector_score_vs_raw": round(seconds["detector_score"] / raw, 2),
        "ratio_beam_net_of_no_op_vs_raw": round(net / raw, 2),
        "ratio_beam_net_of_no_op_and_setup_vs_raw": round((net - seconds["setup_copy_and_load"]) / raw, 2),
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"detector_speed{'_quick' if args.quick else ''}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
