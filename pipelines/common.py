"""Argument handling shared by the runnable jobs.

Each job parses its own flags with argparse and hands the rest to Beam, so
standard Beam flags (``--runner``, ``--direct_num_workers``, Dataflow's
``--project`` ...) pass straight through; an argument that is neither the
job's nor a Beam option fails at launch (Beam would log it and go on without
it). The library's options are plain transform arguments, never
``PipelineOptions`` subclasses, so they cannot collide with a host pipeline's
options.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import logging
import re
import sys
from typing import NoReturn, Sequence

from apache_beam.options import pipeline_options
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.runner import create_runner

from curation.dedup.options import VERIFICATIONS, NearDedupOptions
from curation.origin.options import OriginOptions
from curation.reading.options import MIB, ReadOptions
from curation.sampling.allocation import AllocationMethod
from curation.sampling.options import SampleOptions
from curation.schema import Origin, RatioUnit
from curation.shards import ShardTargets
from curation.writing.options import WriteOptions

# The DirectRunner tries Prism first, which downloads a binary (and fails
# offline); the FnApiRunner is what it falls back to for batch jobs anyway.
DEFAULT_RUNNER = "FnApiRunner"


class JobArgumentParser(argparse.ArgumentParser):
    """The jobs' argparse: exact flag names, one-line errors (exit 2), a close match for a typo."""

    def __init__(self, *args, **kwargs):
        # No abbreviations: with Beam's flags passing through, a prefix must not
        # silently mean one of ours (or one of Beam's).
        super().__init__(*args, allow_abbrev=False, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (--help lists the flags)\n")

    def parse_args(self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None):
        argv = sys.argv[1:] if args is None else list(args)
        self._refuse_unknown_flags(argv, _flags(self))
        parsed, stray = self.parse_known_args(argv, namespace)
        if stray:
            self.error(f"unexpected argument {stray[0]!r}")
        return parsed

    def parse_job_and_beam_args(self, args: Sequence[str] | None = None) -> tuple[argparse.Namespace, list[str]]:
        """The job's flags, and the rest for Beam, each of which must be a Beam option.

        Beam's known options are those of every registered ``PipelineOptions``
        subclass, as Beam collects them (so Dataflow, portable, Flink, Spark and
        worker flags pass); a runner named with ``--runner`` is imported first, as
        it may register options of its own. Anything else fails here, naming the
        closest known flag, instead of Beam logging "Unparseable argument" and
        running without it.
        """
        argv = sys.argv[1:] if args is None else list(args)
        try:
            beam_parser = _beam_flag_parser(argv)
            self._refuse_unknown_flags(argv, _flags(self) + _flags(beam_parser))
            parsed, beam_args = self.parse_known_args(argv)
            stray = beam_parser.parse_known_args(beam_args)[1]
        except ValueError as err:  # an unknown runner, a Beam flag with a bad value
            self.error(str(err))
        if stray:
            self.error(f"unexpected argument {stray[0]!r}")
        return parsed, beam_args

    def _refuse_unknown_flags(self, argv: Sequence[str], known: Sequence[str]) -> None:
        """Fails on the first ``--flag`` nobody knows, before a missing required flag is reported."""
        for arg in argv:
            if arg == "--":  # argparse reads no flags after it either
                return
            name = arg.split("=", 1)[0]
            if name.startswith("--") and name not in known:
                close = difflib.get_close_matches(name, known, n=1)
                self.error(f"unknown flag {name}" + (f"; did you mean {close[0]}?" if close else ""))


class _BeamFlagParser(pipeline_options._BeamArgumentParser):
    """Beam's own parser (it knows value-provider flags), reporting errors to the job instead of exiting."""

    def error(self, message: str) -> NoReturn:
        raise ValueError(message)


# Runners that lose or misroute records; their reproduction is the test that names them.
_UNSOUND_RUNNERS = {
    "apache_beam.runners.dask": (
        "Beam's DaskRunner sends every output of a multi-output step to each of its outputs and "
        "drops what a step emits when a bundle ends (reproduced in tests/scale/test_dask_runner.py), "
        "so no record could be accounted for"
    ),
}


def _refuse_unsound_runner(name: str, runner: object) -> None:
    module = type(runner).__module__
    for prefix, why in _UNSOUND_RUNNERS.items():
        if module == prefix or module.startswith(prefix + "."):
            raise ValueError(
                f"--runner {name}: {why}; run on the FnApiRunner (several processes: --direct_num_workers N "
                "--direct_running_mode multi_processing), Dataflow, Flink or Spark"
            )


def _beam_flag_parser(argv: Sequence[str]) -> argparse.ArgumentParser:
    runner_flag = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    runner_flag.add_argument("--runner")
    runner = runner_flag.parse_known_args(argv)[0].runner
    if runner:
        try:
            instance = create_runner(runner)
        except ImportError as err:
            raise ValueError(f"--runner {runner}: {err}") from None
        _refuse_unsound_runner(runner, instance)
    parser = _BeamFlagParser(allow_abbrev=False)
    # One class per name, as PipelineOptions.get_all_options does (a class may be defined twice).
    for cls in {str(cls): cls for cls in PipelineOptions.__subclasses__()}.values():
        cls._add_argparse_args(parser)  # the hook Beam's own option classes implement
    return parser


def _flags(parser: argparse.ArgumentParser) -> list[str]:
    return [flag for action in parser._actions for flag in action.option_strings if flag.startswith("--")]


# The last line of a worker's traceback naming one of our exception classes.
_WORKER_ERROR = re.compile(r"^(curation(?:\.\w+)+)\.(\w+): (.+)$", re.MULTILINE)


def user_error(err: BaseException) -> str | None:
    """The one-line message of an error the user can fix, or None for a bug (let it raise).

    Those are ValueErrors (bad flags, impossible requests, undecided origins, a
    bad model) and FileExistsError (an output in use). In-process runners re-raise
    a worker's exception as it is; Beam's multi-process runner re-raises it as a
    RuntimeError holding the worker's traceback, whose last line names the class.
    """
    if isinstance(err, (ValueError, FileExistsError)):
        return str(err)
    found = _WORKER_ERROR.findall(str(err))
    if found:
        module, name, message = found[-1]
        cls = getattr(sys.modules.get(module), name, None)
        if isinstance(cls, type) and issubclass(cls, ValueError):
            return message
    return None


def beam_options(beam_args: list[str]) -> PipelineOptions:
    """PipelineOptions from the flags the job did not claim, with a pinned default runner."""
    if not any(a == "--runner" or a.startswith("--runner=") for a in beam_args):
        beam_args = [f"--runner={DEFAULT_RUNNER}", *beam_args]
    return PipelineOptions(beam_args)


def option_default(options: type, name: str):
    """The default of field ``name`` of an options dataclass: flags take their defaults
    from the options (and state them in help as ``%(default)s``), so each is written once."""
    field = {f.name: f for f in dataclasses.fields(options)}[name]
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return field.default


def add_option_flag(group, flag: str, options: type, name: str, help: str, **kwargs) -> None:
    """A flag whose default is the options' own (:func:`option_default`), said at the end of its help."""
    group.add_argument(flag, default=option_default(options, name), help=f"{help} (default: %(default)s)", **kwargs)


def add_reading_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("reading")
    group.add_argument(
        "--input", action="append", required=True, metavar="PATTERN[:source=NAME,origin=real|synthetic|unknown]",
        help="JSONL (.jsonl/.json/.ndjson, optionally .gz) or Parquet files; globs and gs:// work. Repeat for several inputs.",
    )
    add_option_flag(group, "--text-field", ReadOptions, "text_field", "field holding the text")
    add_option_flag(
        group, "--id-field", ReadOptions, "id_field",
        "field holding a unique id; '' to generate ids from file and line",
    )
    group.add_argument(
        "--origin-field", default=option_default(ReadOptions, "origin_field"),
        help="field declaring who wrote the text (default: none)",
    )
    group.add_argument(
        "--origin-values", metavar="VALUE=real|synthetic|unknown,...",
        default=",".join(f"{k}={v}" for k, v in option_default(ReadOptions, "origin_values").items()),
        help="map from the origin field's values to real/synthetic/unknown (default: %(default)s)",
    )
    add_option_flag(
        group, "--max-text-bytes", ReadOptions, "max_text_bytes",
        "reject texts longer than this many UTF-8 bytes", type=int,
    )
    group.add_argument(
        "--split-mib", type=int, default=option_default(ReadOptions, "split_bytes") // MIB,
        help="read uncompressed files larger than this in parts of this size, on several workers; "
        "the output does not depend on it (default: %(default)s)",
    )


def add_writing_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("writing")
    group.add_argument("--output", required=True, help="output directory (local or gs://)")
    add_option_flag(group, "--shard-rows", ShardTargets, "rows", "target rows per shard", type=int)
    add_option_flag(group, "--shard-bytes", ShardTargets, "text_bytes", "target text bytes per data shard", type=int)
    group.add_argument(
        "--num-shards", type=int, default=option_default(ShardTargets, "count"), help="a fixed number of data shards"
    )
    add_option_flag(group, "--seed", WriteOptions, "seed", "seeds every hash-based choice", type=int)
    group.add_argument("--overwrite", action="store_true", help="replace an earlier curation output in --output")
    group.add_argument("--run-id", default=None, help="name of this run (default: derived from config and inputs)")


# The loggers of the library (progress per stage) and of the jobs themselves.
_JOB_LOGGERS = ("curation", "pipelines")


class _JobLogHandler(logging.StreamHandler):
    """Writes to sys.stderr as it is when a record is logged (a test's or a notebook's capture too)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _):  # StreamHandler.__init__ sets it; the property decides
        pass


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
        if not any(isinstance(h, _JobLogHandler) for h in logger.handlers):  # a second call adds no second line
            handler = _JobLogHandler()
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
    add_option_flag(
        group, "--near-threshold", NearDedupOptions, "threshold",
        "Jaccard of word n-grams that counts as a duplicate", type=float,
    )
    add_option_flag(group, "--num-perm", NearDedupOptions, "num_perm", "MinHash permutations", type=int)
    group.add_argument(
        "--near-verification", choices=VERIFICATIONS, default=option_default(NearDedupOptions, "verification"),
        help="verify candidates and removals by exact (shingles, the default) or estimated (signature) Jaccard",
    )


def add_sampling_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("sampling (runs when any of the first three is given)")
    group.add_argument(
        "--min-real-fraction", type=float, default=option_default(SampleOptions, "min_real_fraction"),
        help="every shard holds at least this share of real records",
    )
    add_option_flag(
        group, "--ratio-unit", SampleOptions, "ratio_unit",
        "what the floor and the sample size count: documents, or UTF-8 bytes of text", choices=[u.value for u in RatioUnit],
    )
    size = group.add_mutually_exclusive_group()
    size.add_argument(
        "--sample-size", type=int, default=None,
        help="select exactly this many records, or with --ratio-unit bytes this many bytes of text (or fail early)",
    )
    size.add_argument(
        "--sample-fraction", type=float, default=None,
        help="select this share of the deduplicated records (with --ratio-unit bytes: of their text)",
    )
    group.add_argument(
        "--strata-fields", default=",".join(option_default(SampleOptions, "strata_fields")),
        help="comma-separated record columns or metadata keys defining the strata protected first; "
        "each is then refined by length and topic (default: %(default)s)",
    )
    add_option_flag(
        group, "--allocation", SampleOptions, "allocation",
        "how each origin's budget is spread over the strata", choices=[m.value for m in AllocationMethod],
    )
    add_option_flag(group, "--temperature", SampleOptions, "temperature", "T for --allocation temperature", type=float)
    add_option_flag(
        group, "--topics", SampleOptions, "topics",
        "k-means topics added to the strata; 0: none", type=int,
    )
    group.add_argument("--no-length-buckets", action="store_true", help="leave the length bucket out of the strata")
    group.add_argument(
        "--assume-origin", choices=[o.value for o in Origin], default=option_default(OriginOptions, "assume_origin"),
        help="count records with no declared origin and no detector score as this (default: fail on them)",
    )


def add_detector_flags(parser: argparse.ArgumentParser, required: bool = False) -> None:
    group = parser.add_argument_group("detection")
    group.add_argument(
        "--detector", default=None, required=required, metavar="MODEL_DIR",
        help="a model directory from pipelines.train_detector (local or gs://): scores every record; "
        "records without a declared origin count as real below the model's calibrated real_below",
    )
