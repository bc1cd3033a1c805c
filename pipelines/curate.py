"""The main job: read -> validate -> exact dedup -> near dedup -> score -> sample -> write.

    python -m pipelines.curate --input 'corpus/*.jsonl.gz' --output out/ \
        [--detector MODEL_DIR] [--min-real-fraction 0.8 --sample-fraction 0.3] [Beam flags]

Writes ``OUTPUT/data/`` (Parquet shards), ``OUTPUT/rejected/``,
``OUTPUT/duplicates/``, ``OUTPUT/not_selected/`` and ``OUTPUT/manifest.json``,
and prints a summary. Every input record ends in exactly one of those tables.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

import apache_beam as beam

from curation import storage
from curation.dedup.options import ExactDedupOptions, NearDedupOptions
from curation.dedup.transforms import ExactDedup, NearDedup
from curation.detection.summary import detector_section
from curation.detection.options import ScoreSyntheticOptions
from curation.detection.transforms import ScoreSynthetic
from curation.origin.options import OriginOptions
from curation.origin.transforms import DecideOrigin
from curation.provenance.manifest import derive_run_id, summarize
from curation.reading.options import MIB, ReadOptions, parse_value_map
from curation.reading.transforms import ReadDocuments, match_input
from curation.sampling.options import SampleOptions
from curation.sampling.transforms import SelectSample
from curation.schema import Fate
from curation.shards import ShardTargets
from curation.writing.options import WriteOptions
from curation.writing.transforms import WriteCuratedOutput
from pipelines import common

# Flags that say where the output goes, not what it holds: left out of the run id
# so the same curation written to two places is byte-identical.
# Flags that cannot change what is written (split_mib only changes who reads what).
_NOT_IN_RUN_ID = ("output", "overwrite", "run_id", "split_mib")


def build_parser(
    prog: str = "python -m pipelines.curate",
    description: str = __doc__,
    dedup: bool = True,
    detection: bool = True,
    sampling: bool = True,
    detector_required: bool = False,
) -> common.JobArgumentParser:
    """The job's flags; jobs that run fewer stages (dedup, score) leave groups out."""
    parser = common.JobArgumentParser(prog=prog, description=description.split("\n")[0])
    common.add_reading_flags(parser)
    if dedup:
        common.add_dedup_flags(parser)
    if detection:
        common.add_detector_flags(parser, required=detector_required)
    if sampling:
        common.add_sampling_flags(parser)
    common.add_writing_flags(parser)
    return parser


def sample_options(args: argparse.Namespace, shards: ShardTargets) -> SampleOptions | None:
    """The sampler's options, or None when the run asks for no selection."""
    wanted = (getattr(args, "min_real_fraction", None), getattr(args, "sample_size", None),
              getattr(args, "sample_fraction", None))
    if all(v is None for v in wanted):
        return None
    return SampleOptions(
        min_real_fraction=args.min_real_fraction,
        ratio_unit=args.ratio_unit,
        sample_size=args.sample_size,
        sample_fraction=args.sample_fraction,
        strata_fields=tuple(f.strip() for f in args.strata_fields.split(",") if f.strip()),
        length_buckets=not args.no_length_buckets,
        topics=args.topics,
        allocation=args.allocation,
        temperature=args.temperature,
        seed=args.seed,
        shards=shards,
    )


@dataclasses.dataclass(frozen=True)
class Job:
    """Everything a run needs, decided on the launcher before the pipeline is built."""

    run_id: str
    config: dict
    beam_args: list[str]
    read: ReadOptions
    write: WriteOptions
    exact_dedup: ExactDedupOptions | None
    near_dedup: NearDedupOptions | None
    scoring: ScoreSyntheticOptions | None  # the detector, checked
    detector: dict | None  # the manifest's detector section
    sampling: SampleOptions | None
    origin: OriginOptions | None  # None: nothing counts origins (no detector, no sampling, no --assume-origin)


def plan_job(argv: list[str] | None = None, parser: common.JobArgumentParser | None = None) -> Job:
    """Parses flags, validates every option and derives the run id; fails before any work."""
    args, beam_args = (parser or build_parser()).parse_job_and_beam_args(argv)
    config = {k: v for k, v in sorted(vars(args).items()) if k not in _NOT_IN_RUN_ID}
    read_options = ReadOptions(
        inputs=tuple(args.input),
        text_field=args.text_field,
        id_field=args.id_field or None,
        origin_field=args.origin_field,
        origin_values=parse_value_map(args.origin_values),
        max_text_bytes=args.max_text_bytes,
        split_bytes=args.split_mib * MIB,
    )
    inputs = [f for spec in read_options.inputs for f in match_input(spec)]
    run_id = args.run_id or derive_run_id(config, inputs)
    detector_dir = getattr(args, "detector", None)
    scoring = ScoreSyntheticOptions(detector_dir) if detector_dir else None  # loads and checks the model
    detector = detector_section(detector_dir, scoring.metadata) if scoring else None
    shards = ShardTargets(rows=args.shard_rows, text_bytes=args.shard_bytes, count=args.num_shards)
    sampling = sample_options(args, shards)
    assume_origin = getattr(args, "assume_origin", None)
    # Decided once, after scoring, whenever anything counts origins or the user said how to.
    origin = None
    if detector or sampling or assume_origin:
        origin = OriginOptions(detector["real_below"] if detector else None, assume_origin)
    return Job(
        run_id=run_id,
        config=config,
        beam_args=beam_args,
        read=dataclasses.replace(read_options, run_id=run_id),
        write=WriteOptions(
            output=args.output,
            shards=shards,
            seed=args.seed,
            overwrite=args.overwrite,
            min_real_fraction=sampling.min_real_fraction if sampling else None,
            ratio_unit=sampling.ratio_unit if sampling else WriteOptions.ratio_unit,
        ),
        exact_dedup=None if getattr(args, "no_exact_dedup", True) else ExactDedupOptions(),
        near_dedup=None
        if getattr(args, "no_near_dedup", True)
        else NearDedupOptions(threshold=args.near_threshold, num_perm=args.num_perm, verification=args.near_verification),
        scoring=scoring,
        detector=detector,
        sampling=sampling,
        origin=origin,
    )


def build(pipeline: beam.Pipeline, job: Job, attempt: storage.OutputAttempt | None = None) -> None:
    """Wires the stages: read, dedup, score, sample, write (with the manifest).

    ``attempt``: the run's claim on the output directory; None: claimed now.
    """
    read = pipeline | "Read" >> ReadDocuments(job.read)
    documents = read.documents  # the reader, dedups and scorer log their own progress
    funnel = {"valid": None}  # each stage's records, derived from the removal tables' reasons
    duplicates, counts = [], {}
    if job.exact_dedup:
        documents, exact = documents | "ExactDedup" >> ExactDedup(job.exact_dedup)
        funnel["after_exact_dedup"] = (Fate.DUPLICATE.table, "exact")
        duplicates.append(exact)
    if job.near_dedup:
        documents, near, counts["dedup.near.kept_unverified"] = documents | "NearDedup" >> NearDedup(job.near_dedup)
        funnel["after_near_dedup"] = (Fate.DUPLICATE.table, "near")
        duplicates.append(near)
    tables = {
        Fate.REJECTED.table: read.rejected,
        Fate.DUPLICATE.table: duplicates | "AllDuplicates" >> beam.Flatten(pipeline=pipeline),
        "files": read.files,
    }
    if job.detector:
        documents = documents | "ScoreSynthetic" >> ScoreSynthetic(job.scoring)
    if job.origin:
        documents = documents | "DecideOrigin" >> DecideOrigin(job.origin)
    shard_plan = sections = None
    if job.sampling:
        sample = documents | "Sample" >> SelectSample(job.sampling)
        documents, tables[Fate.NOT_SELECTED.table] = sample.documents, sample.not_selected
        shard_plan, sections = sample.shard_plan, sample.report
        funnel["selected"] = (Fate.NOT_SELECTED.table, None)
    funnel["output"] = None
    tables[Fate.OUTPUT.table] = documents
    _ = tables | "Write" >> WriteCuratedOutput(
        job.write, job.run_id, job.config, funnel=funnel, extra_sections=sections,
        fixed_sections={"detector": job.detector} if job.detector else None, data_shard_plan=shard_plan,
        attempt=attempt,
        counts=counts,
    )


def run(argv: list[str] | None = None, parser: common.JobArgumentParser | None = None) -> dict:
    """Runs the job; returns the manifest."""
    job = plan_job(argv, parser)
    # Refusals (output in use, not empty, not writable) raise here, before any work and with nothing to undo.
    # A failure then deletes only this attempt's own files: its staging area and its lock.
    with storage.claim_output(job.write.output, job.write.overwrite, job.run_id) as attempt:
        with beam.Pipeline(options=common.beam_options(job.beam_args)) as pipeline:
            build(pipeline, job, attempt)
    return storage.read_json(storage.join(job.write.output, storage.MANIFEST))


def main(argv: list[str] | None = None, parser: common.JobArgumentParser | None = None) -> int:
    common.configure_logging()
    try:
        manifest = run(argv, parser)
    except Exception as err:
        message = common.user_error(err)
        if message is None:
            raise
        print(f"error: {message}", file=sys.stderr)
        return 2
    print(summarize(manifest))
    return 0


if __name__ == "__main__":
    sys.exit(main())
