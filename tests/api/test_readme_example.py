"""The README's "own pipeline" example, on local files: it must keep working as written."""

import json

import apache_beam as beam
import pyarrow.dataset as ds

import curation
from curation.detection.detector import Detector
from curation.detection.training import train_detector, write_model_dir
from tests.conftest import RUNNER
from tests.factories import FAST_CONFIG, generate_corpus


def test_readme_pipeline(tmp_path):
    docs = generate_corpus(n=240, seed=5)
    model, metadata = train_detector(docs, FAST_CONFIG, seed=1)
    model_dir = str(tmp_path / "detector")
    write_model_dir(model, metadata, model_dir)
    web = tmp_path / "web.jsonl"
    web.write_text("".join(json.dumps({"id": d.id, "text": d.text}) + "\n" for d in docs))
    real_below = Detector.load(model_dir).real_below

    with beam.Pipeline(runner=RUNNER) as p:
        read = p | curation.ReadDocuments(curation.ReadOptions(inputs=(str(web),), run_id="web-2026-11"))
        near = curation.NearDedup(curation.NearDedupOptions(threshold=0.8))
        survivors, duplicates, _kept_unverified_ids = read.documents | near
        scored = survivors | curation.ScoreSynthetic(curation.ScoreSyntheticOptions(model_dir=model_dir))
        decided = scored | curation.DecideOrigin(curation.OriginOptions(real_below=real_below))
        sample = decided | curation.SelectSample(curation.SampleOptions(min_real_fraction=0.5, seed=7, topics=2))
        sample.documents | curation.WriteShards(
            curation.WriteOptions(output=str(tmp_path / "curated"), min_real_fraction=0.5),
            shard_plan=sample.shard_plan,
        )
    data = ds.dataset(tmp_path / "curated" / "data").to_table()
    origins = data.column("origin").to_pylist()
    assert data.num_rows > 0 and origins.count("real") >= 0.5 * len(origins)
