"""Shared test fixtures.

Pipelines in tests always run on the FnApiRunner: the DirectRunner would try
Prism first, which downloads a binary and fails offline.
"""
import ast
import functools
import inspect
import os
import pathlib

import apache_beam as beam
import pytest
from apache_beam.testing.test_pipeline import TestPipeline
from hypothesis import settings

RUNNER = "FnApiRunner"
TESTS = pathlib.Path(__file__).resolve().parent

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


def _imports_beam_code(module: str) -> bool:
    return (
        module.split(".")[0] in ("apache_beam", "pipelines")
        or (module.startswith("curation.") and module.endswith(".transforms"))
    )


@functools.lru_cache(maxsize=None)
def _module_runs_beam(path: pathlib.Path) -> bool:
    """Whether a test module imports Beam, a pipeline or a capability's transforms."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import) and any(_imports_beam_code(a.name) for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            if any(_imports_beam_code(name) for name in names):
                return True
    return False


def pytest_configure(config):
    config.addinivalue_line("markers", "beam: runs a Beam pipeline (slow); deselect with -m 'not beam'")


def pytest_collection_modifyitems(config, items):
    # Derived from imports rather than a hand list: a test is beam when its module,
    # or the module defining one of its fixtures, imports Beam code. The guard below
    # catches a test that runs a pipeline some other way.
    for item in items:
        fixture_defs = getattr(item, "_fixtureinfo", None)
        fixture_modules = {
            pathlib.Path(inspect.getsourcefile(fixture_def.func))
            for defs in (fixture_defs.name2fixturedefs.values() if fixture_defs else ())
            for fixture_def in defs
        }
        if "make_pipeline" in item.fixturenames or any(
            _module_runs_beam(path)
            for path in {item.path, *fixture_modules}
            # This file's own fixtures are judged by name: make_pipeline is the one that runs Beam.
            if path.is_relative_to(TESTS) and path != pathlib.Path(__file__).resolve()
        ):
            item.add_marker(pytest.mark.beam)


def _refuse_to_run(*args, **kwargs):
    raise RuntimeError("this test runs a Beam pipeline; it must be marked beam")


@pytest.fixture(autouse=True)
def _only_beam_tests_run_pipelines(request, monkeypatch):
    """Makes a misclassified test fail instead of silently slowing the fast set."""
    if request.node.get_closest_marker("beam") is None:
        monkeypatch.setattr(beam.Pipeline, "run", _refuse_to_run)
        monkeypatch.setattr(TestPipeline, "run", _refuse_to_run)
