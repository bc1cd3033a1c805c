"""The main job: read -> validate -> exact dedup -> near dedup -> write, every record accounted for.

    python -m pipelines.curate --input 'corpus/*.jsonl.gz' --output out/ [Beam flags]

Writes ``OUTPUT/data/`` (Parquet shards), ``OUTPUT/rejected/``,
``OUTPUT/duplicates/`` and ``OUTPUT/manifest.json``, and prints a summary.
"""

from __future__ import annotations

import argparse
import sys

import apache_beam as beam

from curation.dedup.options import ExactDedupOptions, NearDedupOptions
from curation.dedup.transforms import ExactDedup, NearDedup
from curation.provenance.manifest import derive_run_id, summarize
from curation.reading.core import ReadOptions, parse_value_map
from curation.reading.transforms import ReadDocuments, match_input
from curation.writing import files
from curation.writing.core import WriteOptions
from curation.writing.transforms import WriteCuratedOutput
from pipelines import common

# Flags that say where the output goes, not what it holds: left out of the run id
# so the same curation written to two places is byte-identical.
_NOT_IN_RUN_ID = ("output", "overwrite", "run_id")


def build_parser(prog: str = "python -m pipelines.curate", description: str = __doc__) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=description.split("\n")[0])
    common.add_reading_flags(parser)
    common.add_dedup_flags(parser)
    common.add_writing_flags(parser)
    return parser


def run(argv: list[str] | None = None, parser: argparse.ArgumentParser | None = None) -> dict:
    """Runs the job; returns the manifest."""
    args, beam_args = (parser or build_parser()).parse_known_args(argv)
    config = {k: v for k, v in sorted(vars(args).items()) if k not in _NOT_IN_RUN_ID}
    read_options = ReadOptions(
        inputs=tuple(args.input),
        text_field=args.text_field,
        id_field=args.id_field or None,
        origin_field=args.origin_field,
        origin_values=parse_value_map(args.origin_values),
        max_text_bytes=args.max_text_bytes,
        run_id="pending",
    )
    inputs = [f for spec in read_options.inputs for f in match_input(spec)]
    run_id = args.run_id or derive_run_id(config, inputs)
    read_options = ReadOptions(**{**read_options.__dict__, "run_id": run_id})
    write_options = WriteOptions(
        output=args.output,
        shard_rows=args.shard_rows,
        shard_bytes=args.shard_bytes,
        num_shards=args.num_shards,
        seed=args.seed,
        overwrite=args.overwrite,
    )
    with beam.Pipeline(options=common.beam_options(beam_args)) as pipeline:
        read = pipeline | "Read" >> ReadDocuments(read_options)
        documents = read["documents"]
        stages = {"valid": documents}
        duplicates = []
        if not args.no_exact_dedup:
            documents, exact = documents | "ExactDedup" >> ExactDedup(ExactDedupOptions())
            stages["after_exact_dedup"] = documents
            duplicates.append(exact)
        if not args.no_near_dedup:
            near_options = NearDedupOptions(
                threshold=args.near_threshold, num_perm=args.num_perm, verification=args.near_verification
            )
            documents, near = documents | "NearDedup" >> NearDedup(near_options)
            stages["after_near_dedup"] = documents
            duplicates.append(near)
        stages["output"] = documents
        tables = {
            "data": documents,
            "rejected": read["rejected"],
            "duplicates": duplicates | "AllDuplicates" >> beam.Flatten(pipeline=pipeline),
            "files": read["files"],
        }
        _ = tables | "Write" >> WriteCuratedOutput(write_options, run_id, config, stages=stages)
    return files.read_json(files.join(args.output, files.MANIFEST))


def main(argv: list[str] | None = None, parser: argparse.ArgumentParser | None = None) -> int:
    common.configure_logging()
    try:
        manifest = run(argv, parser)
    except (ValueError, FileExistsError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(summarize(manifest))
    return 0


if __name__ == "__main__":
    sys.exit(main())
