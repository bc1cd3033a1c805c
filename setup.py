"""Packaging for curation.

Also serves as Dataflow's ``--setup_file``: workers run ``pip install .`` on it,
so install_requires must list everything a worker imports.
"""
import pathlib
import re

from setuptools import find_packages, setup

HERE = pathlib.Path(__file__).parent
VERSION = re.search(
    r'^__version__ = "([^"]+)"', (HERE / "curation" / "__init__.py").read_text(), re.M
).group(1)

setup(
    name="curation",
    version=VERSION,
    description=(
        "Apache Beam transforms that curate LLM training corpora against model "
        "collapse: dedup, synthetic-text detection, provenance, tail-preserving "
        "sampling and ratio-guaranteed Parquet shards."
    ),
    long_description=(HERE / "README.md").read_text() if (HERE / "README.md").exists() else "",
    long_description_content_type="text/markdown",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["curation", "curation.*", "pipelines", "pipelines.*"]),
    install_requires=[
        "apache-beam>=2.60,<3",
        "datasketch>=1.6",
        "fasttext>=0.9.2",
        # apache-beam 2.77 caps pyarrow below 26 and numpy below 2.5.
        "pyarrow>=14,<26",
        "numpy>=1.24,<2.5",
        # The collapse simulation's plots (pipelines.simulate_collapse); the run report draws its own SVG.
        "matplotlib>=3.7",
    ],
    extras_require={
        # hypothesis: property tests of allocation and shard ratios;
        # mlcroissant: validates the croissant.json a run writes;
        # dask[distributed]: the portability check on Beam's DaskRunner (tests/scale/test_dask_runner.py);
        # ruff: the linter `make test` runs first (ruff.toml).
        "test": ["pytest>=7", "hypothesis>=6", "mlcroissant>=1.0", "dask[distributed]>=2024.1", "ruff>=0.5"],
    },
)
