"""Offline checks that the main job can go to Dataflow: it builds with Dataflow
options, every DoFn and CombineFn survives the trip to a worker, the pipeline
translates to a runner API proto that names no launcher-only local file, and
``setup.py`` packages everything a worker imports.

Nothing here runs the pipeline or touches the network.
"""

from __future__ import annotations

import base64
import bz2
import pathlib
import re
import shutil
import tarfile
import zlib

import apache_beam as beam
import pytest
from apache_beam.internal import pickler
from apache_beam.portability import common_urns, python_urns
from apache_beam.portability.api import beam_runner_api_pb2
from apache_beam.runners.portability.stager import Stager

from pipelines import common, curate
from tests.scale.conftest import curate_args

REPO = pathlib.Path(__file__).resolve().parents[2]
# Beam validates these when the pipeline is constructed: a project id needs 6-30
# characters and a bucket 3-63, so the shortest placeholders ("p", "gs://b") fail.
DATAFLOW_FLAGS = [
    "--runner", "DataflowRunner", "--project", "my-project", "--region", "us-central1",
    "--temp_location", "gs://my-bucket/tmp",
]
# Where each kind of transform keeps its user function (a FunctionSpec).
_USER_FN_OF = {
    common_urns.primitives.PAR_DO.urn: (beam_runner_api_pb2.ParDoPayload, lambda p: p.do_fn),
    common_urns.composites.COMBINE_PER_KEY.urn: (beam_runner_api_pb2.CombinePayload, lambda p: p.combine_fn),
    common_urns.composites.COMBINE_GLOBALLY.urn: (beam_runner_api_pb2.CombinePayload, lambda p: p.combine_fn),
}
# Beam's own built-in functions (e.g. key_with_none) are named by URN, not pickled.
_PICKLED = {python_urns.PICKLED_DOFN_INFO, python_urns.PICKLED_COMBINE_FN}


@pytest.fixture(scope="module")
def dataflow_pipeline(small_run_inputs, tmp_path_factory):
    """(pipeline proto, its bytes, the paths given as flags) of the job built for Dataflow, never run.

    The output is local: the launcher checks the output directory while building.
    """
    output = str(tmp_path_factory.mktemp("dataflow") / "out")
    job = curate.plan_job(curate_args(small_run_inputs, output) + DATAFLOW_FLAGS)
    pipeline = beam.Pipeline(options=common.beam_options(job.beam_args))
    assert type(pipeline.runner).__name__ == "DataflowRunner"
    curate.build(pipeline, job)
    proto = pipeline.to_runner_api()
    flag_paths = [str(small_run_inputs / "corpus.jsonl"), str(small_run_inputs / "detector"), output]
    return proto, proto.SerializeToString(), flag_paths


def test_every_user_function_unpickles_as_a_worker_would(dataflow_pipeline):
    proto, _, _ = dataflow_pipeline
    unpickled = 0
    for name, transform in proto.components.transforms.items():
        if transform.spec.urn not in _USER_FN_OF:
            continue
        payload_type, user_fn_of = _USER_FN_OF[transform.spec.urn]
        spec = user_fn_of(payload_type.FromString(transform.spec.payload))
        if spec.urn not in _PICKLED:
            continue
        fn = pickler.loads(spec.payload)
        # Round trip: a worker may pickle it again (e.g. to fan out to threads).
        assert pickler.loads(pickler.dumps(fn)) is not None, name
        unpickled += 1
    assert unpickled > 50  # the whole job, not a stub


def _unpickled_payloads(blob: bytes) -> bytes:
    """The proto's bytes followed by every pickle in it, decompressed.

    Beam stores pickles as base64 of bz2 (or zlib) data, so a path inside a
    pickled DoFn is invisible in the raw proto.
    """
    pickles = []
    for encoded in re.findall(rb"(?:QlpoO|eNr)[A-Za-z0-9+/]+={0,2}", blob):  # "BZh9" / zlib level 9 headers
        compressed = base64.b64decode(encoded)
        pickles.append(bz2.decompress(compressed) if compressed.startswith(b"BZh") else zlib.decompress(compressed))
    return b"\n".join([blob, *pickles])


def _local_paths(blob: bytes, root: str) -> set[str]:
    return {m.decode() for m in re.findall(re.escape(root.encode()) + rb"[\w./-]*", blob)}


def test_the_pipeline_names_no_local_file_but_the_flags(dataflow_pipeline):
    _, blob, flag_paths = dataflow_pipeline
    unpacked = _unpickled_payloads(blob)
    assert all(path.encode() in unpacked for path in flag_paths)  # the scan sees inside the pickles
    for path in flag_paths:
        unpacked = unpacked.replace(path.encode(), b"<flag>")
    roots = (str(REPO) + "/", "/tmp/", str(pathlib.Path.home()) + "/")
    found = {p for root in roots for p in _local_paths(unpacked, root)}
    # cloudpickle stores lambdas by value with their code object's co_filename
    # (this repo's and Beam's .py files): only tracebacks read it, workers import
    # the installed packages.
    unexpected = {p for p in found if not p.endswith(".py")}
    assert not unexpected, f"the pipeline refers to launcher-local paths: {sorted(unexpected)}"


def test_setup_py_packages_the_library_and_the_jobs_as_the_dataflow_stager_builds_it(tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    for name in ("setup.py", "README.md"):
        shutil.copy(REPO / name, source / name)
    for package in ("curation", "pipelines"):
        shutil.copytree(REPO / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "dist").mkdir()
    tarball = Stager._build_setup_package(str(source / "setup.py"), str(tmp_path / "dist"))
    with tarfile.open(tarball) as archive:
        modules = {"/".join(pathlib.PurePosixPath(n).parts[1:]) for n in archive.getnames() if n.endswith(".py")}
    expected = {str(p.relative_to(REPO)) for package in ("curation", "pipelines") for p in (REPO / package).rglob("*.py")}
    assert expected <= modules, sorted(expected - modules)
