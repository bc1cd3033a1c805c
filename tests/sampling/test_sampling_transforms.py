import math

import apache_beam as beam
import pytest
from apache_beam.testing.util import assert_that, equal_to

from curation.sampling import tail_metrics
from curation.sampling.transforms import _RareVocabularyCoverage

TEXTS_IN = ["Alpha beta beta", "gamma " * 6, "delta, alpha", "epsilon zeta"]
TEXTS_OUT = ["ALPHA gamma", "zeta"]


def test_per_word_coverage_equals_the_dict_reference(make_pipeline):
    words_in = tail_metrics.merge_counts(tail_metrics.word_counts(t) for t in TEXTS_IN)
    words_out = tail_metrics.merge_counts(tail_metrics.word_counts(t) for t in TEXTS_OUT)
    expected = tail_metrics.rare_vocabulary_coverage(words_in, words_out)
    assert expected == pytest.approx(2 / 5)  # rare: alpha beta delta epsilon zeta; kept: alpha zeta
    with make_pipeline() as p:
        coverage = {
            "in": p | "In" >> beam.Create(TEXTS_IN),
            "out": p | "Out" >> beam.Create(TEXTS_OUT),
        } | _RareVocabularyCoverage()
        assert_that(coverage | beam.Map(lambda c: round(c, 9)), equal_to([round(expected, 9)]))


def test_no_rare_word_gives_nan(make_pipeline):
    with make_pipeline() as p:
        coverage = {
            "in": p | "In" >> beam.Create(["common " * 9]),
            "out": p | "Out" >> beam.Create([]),
        } | _RareVocabularyCoverage()
        assert_that(coverage | beam.Map(math.isnan), equal_to([True]))
