"""The curate job's graph size: the fixed cost every run pays (about 10 ms per transform
on the FnApiRunner), kept from growing back while issue #20 shrinks it toward 150."""

from __future__ import annotations

import os

from bench.e2e import transform_count
from tests.scale.conftest import curate_args

# A ratchet: lower it with every change that shrinks the graph; never raise it.
MAX_TRANSFORMS = 149


def test_the_full_job_stays_within_its_transform_budget(small_run_inputs, tmp_path):
    output = tmp_path / "out"
    count = transform_count(curate_args(small_run_inputs, str(output)))
    assert count <= MAX_TRANSFORMS, f"the curate job grew to {count} transforms (limit {MAX_TRANSFORMS})"
    assert os.listdir(output) == [], "counting the graph must write nothing and release the output"
