"""Shared test fixtures.

Pipelines in tests always run on the FnApiRunner: the DirectRunner would try
Prism first, which downloads a binary and fails offline.
"""
import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline

RUNNER = "FnApiRunner"


@pytest.fixture
def make_pipeline():
    """Returns a factory of TestPipelines pinned to the FnApiRunner."""

    def factory(**options):
        flags = [f"--{k}={v}" for k, v in options.items()]
        return TestPipeline(runner=RUNNER, options=beam.options.pipeline_options.PipelineOptions(flags))

    return factory
