"""Shared test fixtures.

Pipelines in tests always run on the FnApiRunner: the DirectRunner would try
Prism first, which downloads a binary and fails offline.
"""
import os

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from hypothesis import settings

RUNNER = "FnApiRunner"

# Property tests explore new examples on developers' machines but replay a fixed
# set in CI, so a red CI always means the same failure on a rerun.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture
def make_pipeline():
    """Returns a factory of TestPipelines pinned to the FnApiRunner."""

    def factory(**options):
        flags = [f"--{k}={v}" for k, v in options.items()]
        return TestPipeline(runner=RUNNER, options=beam.options.pipeline_options.PipelineOptions(flags))

    return factory
