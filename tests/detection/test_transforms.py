import pickle

import apache_beam as beam
from apache_beam.testing.util import assert_that, equal_to

from curation.detection.detector import Detector
from curation.detection.options import ScoreSyntheticOptions
from curation.detection.transforms import ScoreSynthetic, _ScoreBatches


def _record(i, text):
    return {"id": f"r{i}", "text": text, "source": "s", "source_uri": "u", "source_index": i,
            "origin_basis": "none", "metadata": "{}", "synthetic_score": None, "detector_id": None}


def test_dofn_pickles_without_a_model_and_loads_it_in_setup(trained, corpus):
    dofn = pickle.loads(pickle.dumps(_ScoreBatches(trained[0], trained[1]["model_sha256"])))
    dofn.setup()
    try:
        (scored,) = list(dofn.process([_record(0, corpus[0].text)]))
    finally:
        dofn.teardown()
    assert scored["detector_id"] == trained[1]["model_sha256"]


def test_transform_adds_score_and_detector_id_and_keeps_the_rest(make_pipeline, trained, corpus):
    model_dir, metadata = trained
    records = [_record(i, doc.text) for i, doc in enumerate(corpus[:25])]
    scores = Detector.load(model_dir).score([r["text"] for r in records])
    expected = [
        {**r, "synthetic_score": float(s), "detector_id": metadata["model_sha256"]} for r, s in zip(records, scores)
    ]
    with make_pipeline() as p:
        scored = p | beam.Create(records) | ScoreSynthetic(ScoreSyntheticOptions(model_dir=model_dir, batch_size=7))
        assert_that(scored, equal_to(expected))
