"""Beam's DaskRunner, the one multi-process engine besides the FnApiRunner that runs here
offline: why the jobs refuse it, reduced to a ten-element pipeline.

On it (Beam 2.77, dask 2026.8, a LocalCluster of two worker processes):

* every output of a multi-output ParDo receives all of the step's elements: the
  visitor keys Dask bags by producing transform, not by output PCollection (in the
  curate job, rows of the data table reached the rejected table's reason tally:
  ``KeyError: 'reason'`` in the writer);
* what a DoFn emits in ``finish_bundle`` is dropped: ``apply_dofn_to_bundle`` takes
  the bundle's results before it calls ``finish_bundle`` (our bundle tallies and
  LSH band entries are emitted there).

Both are the runner's, not ours: the same pipeline is right on the FnApiRunner. When
the first test fails, Beam has fixed the runner: lift the refusal in
``pipelines/common.py`` and make this a test that the job's output is byte-identical
to the FnApiRunner's.
"""

from __future__ import annotations

import json

import apache_beam as beam
import pytest
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.pvalue import AsList, AsSingleton
from apache_beam.transforms.window import GlobalWindows

distributed = pytest.importorskip("distributed")

DASK_RUNNER = "apache_beam.runners.dask.dask_runner.DaskRunner"


class _SplitOddEven(beam.DoFn):
    def process(self, n):
        yield n if n % 2 else beam.pvalue.TaggedOutput("even", n)


class _CountInBundle(beam.DoFn):
    """Emits one count per bundle, at its end (as curation.bundling.BundleBuffer does)."""

    def start_bundle(self):
        self._n = 0

    def process(self, _):
        self._n += 1

    def finish_bundle(self):
        yield GlobalWindows.windowed_value(self._n)


def _record(_, evens, count, path):
    with open(path, "w") as f:
        json.dump({"even": sorted(evens), "odd_count": count}, f)


def _run(runner: str, path: str, flags=()) -> dict:
    # The Dask runner computes only the graph's last step: everything must feed it.
    pipeline = beam.Pipeline(runner=runner, options=PipelineOptions(list(flags)))
    split = pipeline | beam.Create(range(10)) | beam.ParDo(_SplitOddEven()).with_outputs("even", main="odd")
    count = split["odd"] | beam.ParDo(_CountInBundle()) | beam.CombineGlobally(sum)
    _ = (
        pipeline
        | "Once" >> beam.Create([None])
        | beam.Map(_record, AsList(split["even"]), AsSingleton(count), path)
    )
    result = pipeline.run()
    result.wait_until_finish()
    if hasattr(result, "client"):  # the Dask runner's own client: closed before the cluster, or it retries
        result.client.close()
    with open(path) as f:
        return json.load(f)


@pytest.fixture(scope="module")
def dask_cluster():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    yield cluster
    cluster.close()


def test_the_dask_runner_misroutes_tagged_outputs_and_drops_finish_bundle_outputs(dask_cluster, tmp_path):
    right = {"even": [0, 2, 4, 6, 8], "odd_count": 5}
    assert _run("FnApiRunner", str(tmp_path / "fn.json")) == right
    on_dask = _run(DASK_RUNNER, str(tmp_path / "dask.json"), [f"--dask_client_address={dask_cluster.scheduler_address}"])
    assert on_dask["even"] == list(range(10))  # the odd numbers reached the "even" output too
    assert on_dask["odd_count"] == 0  # the five odd numbers' end-of-bundle counts were dropped


def test_the_jobs_refuse_the_dask_runner_at_launch_saying_why(tmp_path, capsys):
    from pipelines import curate

    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text('{"id": "a", "text": "x"}\n')
    with pytest.raises(SystemExit) as exited:
        curate.main(["--input", str(corpus), "--output", str(tmp_path / "out"), "--runner", DASK_RUNNER])
    assert exited.value.code == 2
    message = capsys.readouterr().err
    assert "sends every output of a multi-output step to each of its outputs" in message
    assert "tests/scale/test_dask_runner.py" in message and "--direct_running_mode multi_processing" in message
    assert not (tmp_path / "out").exists()
