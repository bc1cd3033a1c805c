import math
import random

import apache_beam as beam
import pytest
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.window import GlobalWindow

from curation.sampling import tail_metrics
from curation.sampling.tail_metrics import VOCABULARY_SHARDS, vocabulary_shard
from curation.sampling.transforms import CountWords, RareVocabularyCoverage

TEXTS_IN = ["Alpha beta beta", "gamma " * 6, "delta, alpha", "epsilon zeta"]
TEXTS_OUT = ["ALPHA gamma", "zeta"]


def _records(texts):
    return [{"text": t} for t in texts]


def test_per_word_coverage_equals_the_dict_reference(make_pipeline):
    words_in = tail_metrics.merge_counts(tail_metrics.word_counts(t) for t in TEXTS_IN)
    words_out = tail_metrics.merge_counts(tail_metrics.word_counts(t) for t in TEXTS_OUT)
    expected = tail_metrics.rare_vocabulary_coverage(words_in, words_out)
    assert expected == pytest.approx(2 / 5)  # rare: alpha beta delta epsilon zeta; kept: alpha zeta
    with make_pipeline() as p:
        coverage = {
            "in": p | "In" >> beam.Create(_records(TEXTS_IN)),
            "out": p | "Out" >> beam.Create(_records(TEXTS_OUT)),
        } | RareVocabularyCoverage()
        assert_that(coverage | beam.Map(lambda c: round(c, 9)), equal_to([round(expected, 9)]))


def test_no_rare_word_gives_nan(make_pipeline):
    with make_pipeline() as p:
        coverage = {
            "in": p | "In" >> beam.Create(_records(["common " * 9])),
            "out": p | "Out" >> beam.Create([]),
        } | RareVocabularyCoverage()
        assert_that(coverage | beam.Map(math.isnan), equal_to([True]))


def test_a_vocabulary_over_many_shards_and_flushes_matches_the_reference(make_pipeline):
    rng = random.Random(5)
    vocabulary = [f"w{i}" for i in range(3000)]
    texts_in = [" ".join(rng.choice(vocabulary) for _ in range(rng.randint(1, 40))) for _ in range(400)]
    texts_out = texts_in[::3]
    words_in = tail_metrics.merge_counts(tail_metrics.word_counts(t) for t in texts_in)
    words_out = tail_metrics.merge_counts(tail_metrics.word_counts(t) for t in texts_out)
    expected = tail_metrics.rare_vocabulary_coverage(words_in, words_out)
    assert len({vocabulary_shard(w) for w in words_in}) == VOCABULARY_SHARDS
    with make_pipeline() as p:
        coverage = {
            "in": p | "In" >> beam.Create(_records(texts_in), reshuffle=False),
            "out": p | "Out" >> beam.Create(_records(texts_out)),
        } | RareVocabularyCoverage()
        assert_that(coverage | beam.Map(lambda c: round(c, 9)), equal_to([round(expected, 9)]))


def test_counting_flushes_bounded_shard_dicts():
    count = CountWords(types_per_text=False, side="in", max_types=50)
    count.start_bundle()
    texts = [" ".join(f"t{i}_{j}" for j in range(20)) for i in range(10)]
    emitted = [pair for text in texts for pair in count.process({"text": text}, window=GlobalWindow())]
    emitted += [wv.value for wv in count.finish_bundle()]
    assert all(0 <= shard < VOCABULARY_SHARDS and side == "in" and words for shard, (side, words) in emitted)
    merged = tail_metrics.merge_counts(words for _, (_, words) in emitted)
    assert merged == tail_metrics.merge_counts(tail_metrics.word_counts(t) for t in texts)
    assert all(vocabulary_shard(w) == shard for shard, (_, words) in emitted for w in words)


def test_a_word_with_a_lone_surrogate_has_a_shard():
    assert 0 <= vocabulary_shard("bad\ud800word") < VOCABULARY_SHARDS
