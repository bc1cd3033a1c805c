"""Argument handling shared by the runnable jobs.

Each job parses its own flags with argparse and hands everything else to Beam,
so standard Beam flags (``--runner``, ``--direct_num_workers``, Dataflow's
``--project`` ...) pass straight through. The library's options are plain
transform arguments, never ``PipelineOptions`` subclasses, so they cannot
collide with a host pipeline's options.
"""

from __future__ import annotations

import argparse
import logging
import sys

from apache_beam.options.pipeline_options import PipelineOptions

# The DirectRunner tries Prism first, which downloads a binary (and fails
# offline); the FnApiRunner is what it falls back to for batch jobs anyway.
DEFAULT_RUNNER = "FnApiRunner"


def beam_options(beam_args: list[str]) -> PipelineOptions:
    """PipelineOptions from the flags the job did not claim, with a pinned default runner."""
    if not any(a == "--runner" or a.startswith("--runner=") for a in beam_args):
        beam_args = [f"--runner={DEFAULT_RUNNER}", *beam_args]
    return PipelineOptions(beam_args)


def add_reading_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("reading")
    group.add_argument(
        "--input", action="append", required=True, metavar="PATTERN[:source=NAME,origin=real|synthetic|unknown]",
        help="JSONL (.jsonl/.json/.ndjson, optionally .gz) or Parquet files; globs and gs:// work. Repeat for several inputs.",
    )
    group.add_argument("--text-field", default="text", help="field holding the text (default: text)")
    group.add_argument(
        "--id-field", default="id", help="field holding a unique id; '' to generate ids from file and line (default: id)"
    )
    group.add_argument("--origin-field", default=None, help="field declaring who wrote the text (default: none)")
    group.add_argument(
        "--origin-values", default="real=real,synthetic=synthetic", metavar="VALUE=real|synthetic|unknown,...",
        help="map from the origin field's values to real/synthetic/unknown (default: real=real,synthetic=synthetic)",
    )
    group.add_argument(
        "--max-text-bytes", type=int, default=1024 * 1024, help="reject texts longer than this (default: 1 MiB)"
    )
    group.add_argument(
        "--split-mib", type=int, default=64,
        help="read uncompressed files larger than this in parts of this size, on several workers; "
        "the output does not depend on it (default: 64)",
    )


def add_writing_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("writing")
    group.add_argument("--output", required=True, help="output directory (local or gs://)")
    group.add_argument("--shard-rows", type=int, default=50_000, help="target rows per shard (default: 50000)")
    group.add_argument(
        "--shard-bytes", type=int, default=256 * 1024 * 1024, help="target text bytes per shard (default: 256 MiB)"
    )
    group.add_argument("--num-shards", type=int, default=None, help="a fixed number of data shards")
    group.add_argument("--seed", type=int, default=0, help="seeds every hash-based choice (default: 0)")
    group.add_argument("--overwrite", action="store_true", help="replace an earlier curation output in --output")
    group.add_argument("--run-id", default=None, help="name of this run (default: derived from config and inputs)")


# The loggers of the library (progress per stage) and of the jobs themselves.
_JOB_LOGGERS = ("curation", "pipelines")


class _JobLogHandler(logging.StreamHandler):
    """The handler configure_logging gives the job loggers (a type of its own, to find it again)."""


def configure_logging() -> None:
    """Sends INFO and above of the ``curation`` and ``pipelines`` loggers to stderr.

    Beam's import logs a warning first, which gives the root logger a handler
    while the root stays at WARNING, so ``basicConfig(level=INFO)`` would do
    nothing. The job loggers get a handler and level of their own instead,
    whatever ran first. Only the jobs call this: the library never configures
    logging, so a host pipeline's own set-up stands.
    """
    for name in _JOB_LOGGERS:
        logger = logging.getLogger(name)
        # A second call (a job run from another job, a test) replaces the handler
        # rather than doubling every line, and binds it to the current stderr.
        for handler in [h for h in logger.handlers if isinstance(h, _JobLogHandler)]:
            logger.removeHandler(handler)
        handler = _JobLogHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False  # the root's handler would print every line a second time
    # Beam's own INFO lines drown the job's progress.
    logging.getLogger("apache_beam").setLevel(logging.WARNING)


def add_dedup_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("dedup")
    group.add_argument("--no-exact-dedup", action="store_true", help="skip exact dedup (hash of normalised text)")
    group.add_argument("--no-near-dedup", action="store_true", help="skip MinHash-LSH near dedup")
    group.add_argument(
        "--near-threshold", type=float, default=0.8, help="Jaccard of word 5-grams that counts as a duplicate (0.8)"
    )
    group.add_argument("--num-perm", type=int, default=256, help="MinHash permutations (default: 256)")
    group.add_argument(
        "--near-verification", choices=("signature", "shingles"), default="signature",
        help="verify LSH candidates by estimated (signature) or exact (shingles) Jaccard",
    )


def add_sampling_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("sampling (runs when any of the first three is given)")
    group.add_argument("--min-real-fraction", type=float, default=None, help="every shard holds at least this share of real records")
    size = group.add_mutually_exclusive_group()
    size.add_argument("--sample-size", type=int, default=None, help="select exactly this many records (or fail early)")
    size.add_argument("--sample-fraction", type=float, default=None, help="select this share of the deduplicated records")
    group.add_argument(
        "--strata-fields", default="source",
        help="comma-separated record columns or metadata keys defining strata, plus length and topic (default: source)",
    )
    group.add_argument("--allocation", choices=("unimax", "proportional", "temperature"), default="unimax")
    group.add_argument("--temperature", type=float, default=2.0, help="T for --allocation temperature (default: 2)")
    group.add_argument("--topics", type=int, default=8, help="k-means topics added to the strata; 0: none (default: 8)")
    group.add_argument("--no-length-buckets", action="store_true", help="leave the length bucket out of the strata")
    group.add_argument(
        "--assume-origin", choices=("real", "synthetic"), default=None,
        help="count records with no declared origin and no detector score as this (default: fail on them)",
    )


def add_detector_flags(parser: argparse.ArgumentParser, required: bool = False) -> None:
    group = parser.add_argument_group("detection")
    group.add_argument(
        "--detector", default=None, required=required, metavar="MODEL_DIR",
        help="a model directory from pipelines.train_detector (local or gs://): scores every record; "
        "records without a declared origin count as real below the model's calibrated real_below",
    )
