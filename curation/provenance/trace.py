"""The story of one input record: which table it ended in, why, and where it came from.

Every input record ends in exactly one of ``data/``, ``rejected/``,
``duplicates/``, ``not_selected/``, so finding a record is a filtered scan of
each table the manifest lists (Parquet statistics skip most row groups). A
record is named by its ``id`` or by its input location ``source_uri#source_index``
(rejected rows may have no id). An input location found in two tables means
the accounting invariant is broken.
"""

from __future__ import annotations

import dataclasses
import enum
import os
from typing import Any, Mapping

import pyarrow.dataset as ds

from curation import storage
from curation.schema import Fate

TEXT_PREVIEW_CHARS = 160
# Columns that decide a record's fate, shown for whichever table holds it.
DECIDING_FIELDS = (
    "origin", "origin_basis", "declared_origin", "synthetic_score", "detector_id",
    "cluster_id", "cluster_size", "stratum", "inclusion_probability", "run_id",
)


class TraceStatus(str, enum.Enum):
    FOUND = "found"  # every matching input record is in exactly one table
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"  # an input record is in more than one table: the accounting is broken


@dataclasses.dataclass(frozen=True)
class Sighting:
    """One row naming the record, in one table."""

    table: str
    row: dict[str, Any]

    @property
    def fate(self) -> str:
        return Fate.of_table(self.table).value

    @property
    def location(self) -> str:
        return f"{self.row['source_uri']}#{self.row['source_index']}"


@dataclasses.dataclass(frozen=True)
class Story:
    """Everything the output says about one record (or the input records sharing its id)."""

    query: str
    output_dir: str
    run_id: str
    sightings: tuple[Sighting, ...]
    # For a duplicate: the survivor's row in data/, keyed by the duplicate's location.
    survivors: Mapping[str, Sighting]
    # The manifest's entry for each input file a sighting came from.
    input_files: Mapping[str, Mapping[str, Any]]

    @property
    def tables_by_location(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for s in self.sightings:
            found.setdefault(s.location, []).append(s.table)
        return found

    @property
    def status(self) -> TraceStatus:
        if not self.sightings:
            return TraceStatus.NOT_FOUND
        if any(len(tables) > 1 for tables in self.tables_by_location.values()):
            return TraceStatus.CONFLICT
        return TraceStatus.FOUND


def parse_location(location: str) -> tuple[str, int]:
    """``URI#INDEX`` -> ``(uri, index)``; the last ``#`` splits, since URIs may hold one."""
    uri, sep, index = location.rpartition("#")
    if not sep or not uri or not index.isdigit():
        raise ValueError(f"location {location!r} is not URI#INDEX (e.g. corpus/web.jsonl#41)")
    return uri, int(index)


def _spellings(uri: str) -> list[str]:
    """A local path as the job may have recorded it: as given, absolute, or relative to here."""
    if "://" in uri:
        return [uri]
    return sorted({uri, os.path.abspath(uri), os.path.relpath(uri)})


def _find_rows(output_dir: str, shards: list[Mapping[str, Any]], condition: ds.Expression) -> list[dict[str, Any]]:
    paths = [storage.join(output_dir, s["path"]) for s in shards]
    if not paths:
        return []
    return ds.dataset(paths, format="parquet").to_table(filter=condition).to_pylist()


def trace_record(output_dir: str, record_id: str | None = None, location: str | None = None) -> Story:
    """Finds a record by ``record_id`` or ``location`` (``URI#INDEX``) in every table of a run's output."""
    if (record_id is None) == (location is None):
        raise ValueError("name the record by exactly one of record_id or location")
    if location is not None:
        uri, index = parse_location(location)
        condition = ds.field("source_uri").isin(_spellings(uri)) & (ds.field("source_index") == index)
    else:
        condition = ds.field("id") == record_id
    # A partial or mixed output would give a wrong story: refuse it (sizes only; sha256 is pipelines.verify's job).
    problems = storage.verify_output(output_dir, checksums=False)
    if problems:
        raise ValueError(f"{output_dir} is not a complete curation output: " + "; ".join(problems))
    manifest = storage.read_json(storage.join(output_dir, storage.MANIFEST))
    tables = manifest.get("tables", {})
    sightings = tuple(
        Sighting(table, row)
        for table in (fate.table for fate in Fate)
        if table in tables
        for row in _find_rows(output_dir, tables[table]["shards"], condition)
    )
    survivors = {}
    for s in sightings:
        data = Fate.OUTPUT.table
        if s.table == Fate.DUPLICATE.table and data in tables:
            kept = _find_rows(output_dir, tables[data]["shards"], ds.field("id") == s.row["duplicate_of"])
            if kept:
                survivors[s.location] = Sighting(data, kept[0])
    inputs = {f["uri"]: f for f in manifest.get("inputs", [])}
    return Story(
        query=location if location is not None else record_id,
        output_dir=output_dir,
        run_id=manifest["run_id"],
        sightings=sightings,
        survivors=survivors,
        input_files={s.row["source_uri"]: inputs[s.row["source_uri"]] for s in sightings if s.row["source_uri"] in inputs},
    )


def _verdict(sighting: Sighting, survivor: Sighting | None) -> str:
    row, fate = sighting.row, Fate.of_table(sighting.table)
    if fate is Fate.OUTPUT:
        return f"KEPT: in the curated output ({fate.table}/)"
    if fate is Fate.REJECTED:
        return f"REJECTED for {row['reason']}: {row['detail']}"
    if fate is Fate.DUPLICATE:
        where = f" at {survivor.location}" if survivor else ""
        return (
            f"REMOVED as a {row['kind']} duplicate of {row['duplicate_of']}{where} "
            f"(similarity {row['similarity']:.3f}, cluster {row['cluster_id']})"
        )
    if fate is Fate.NOT_SELECTED:
        return f"NOT SELECTED by the sampler: {row['reason']} (stratum {row.get('stratum')})"
    return f"{fate.title.upper()}: {row[fate.reason_column]}"  # a fate with no story of its own yet


# Wide enough for the longest name, so no value runs into its name.
_FIELD_WIDTH = max(len(name) for name in DECIDING_FIELDS) + 2


def _field(name: str, value: Any) -> str:
    return f"    {name:<{_FIELD_WIDTH}}{value}"


def describe_story(story: Story) -> str:
    """The story as lines for a person."""
    lines = [f"{story.query} in {story.output_dir} (run {story.run_id}):"]
    if story.status is TraceStatus.NOT_FOUND:
        return "\n".join(lines + ["  not found in any table: it was never read by this run"])
    locations = story.tables_by_location
    if len(locations) > 1:
        lines.append(f"  the id names {len(locations)} input records (later ones are rejected as duplicate_id)")
    for s in story.sightings:
        row = s.row
        lines += ["", f"  {_verdict(s, story.survivors.get(s.location))}", _field("id", row.get("id"))]
        lines += [_field(name, row[name]) for name in DECIDING_FIELDS if name in row]
        source = story.input_files.get(row["source_uri"])
        size = f" (input file of {source['records']:,} records, {source['bytes']:,} bytes)" if source else ""
        lines.append(_field("from", f"{s.location}, source {row['source']!r}{size}"))
        preview_column = "text" if s.table == Fate.OUTPUT.table else "raw"
        preview = row.get(preview_column)
        if preview is not None:
            cut = preview[:TEXT_PREVIEW_CHARS]
            lines.append(_field(preview_column, f"{cut!r}{' ...' if len(preview) > len(cut) else ''}"))
    conflicts = {loc: tables for loc, tables in locations.items() if len(tables) > 1}
    for loc, tables in conflicts.items():
        lines += ["", f"  ACCOUNTING BROKEN: input record {loc} is in {len(tables)} tables ({', '.join(tables)}); "
                      "every input record must be in exactly one"]
    return "\n".join(lines)
