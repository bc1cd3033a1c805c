"""Local parallelism: two worker processes write the same bytes as one.

Every stage is on (see ``curate_args``) and the corpus has planted duplicates
and bad lines, so every table and the whole manifest are compared.
"""

from __future__ import annotations

import pathlib

import pytest

from pipelines import curate
from tests.scale.conftest import curate_args

ONE_WORKER = ["--runner", "FnApiRunner", "--direct_num_workers", "1"]
TWO_PROCESSES = ["--runner", "FnApiRunner", "--direct_num_workers", "2", "--direct_running_mode", "multi_processing"]


def _shards(output: pathlib.Path) -> dict[str, bytes]:
    return {str(p.relative_to(output)): p.read_bytes() for p in sorted(output.rglob("*.parquet"))}


@pytest.mark.parametrize("ratio_unit", ["rows", "bytes"])
def test_two_worker_processes_write_the_single_worker_bytes(small_run_inputs, tmp_path, ratio_unit):
    unit = ["--ratio-unit", ratio_unit]
    single = curate.run(curate_args(small_run_inputs, str(tmp_path / "single")) + unit + ONE_WORKER)
    parallel = curate.run(curate_args(small_run_inputs, str(tmp_path / "parallel")) + unit + TWO_PROCESSES)

    # Every stage did real work, so the comparison covers every table.
    assert single["accounting"]["balanced"]
    assert all(single["accounting"][k] > 0 for k in ("output", "rejected", "duplicate", "not_selected"))
    assert {"detector", "sampling"} <= single.keys()
    assert single["sampling"]["ratio_unit"] == ratio_unit
    assert "dedup.near.kept_unverified" in single["counts"]  # compared below with the rest

    single_shards, parallel_shards = _shards(tmp_path / "single"), _shards(tmp_path / "parallel")
    assert {p.split("/")[0] for p in single_shards} == {"data", "rejected", "duplicates", "not_selected"}
    assert parallel_shards.keys() == single_shards.keys()
    differing = [p for p in single_shards if single_shards[p] != parallel_shards[p]]
    assert not differing, f"shards differ between 1 and 2 workers: {differing}"
    assert parallel == single
