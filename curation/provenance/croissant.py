"""``OUTPUT/croissant.json``: the run's tables described in MLCommons Croissant 1.0 JSON-LD.

Croissant lets loaders (``mlcroissant``, TFDS, Hugging Face, Kaggle...) find the
shards and their columns without reading this package's docs. Every table the
manifest lists gets a ``cr:FileSet`` (the glob of its shards, what record sets
read from), one ``cr:FileObject`` per shard (its sha256 and size, so a copy can
be checked) and a ``cr:RecordSet`` with a ``cr:Field`` per schema column.
All URLs are relative to the output directory, so the directory can be moved.
"""

from __future__ import annotations

from typing import Any, Mapping

import pyarrow as pa

from curation.provenance.card import percent
from curation.provenance.manifest import class_totals, real_fraction
from curation.schema import Fate
from curation import storage
from curation.storage import CROISSANT_FILE

CONFORMS_TO = "http://mlcommons.org/croissant/1.0"
PARQUET_FORMAT = "application/x-parquet"


# The Croissant 1.0 @context, as published with the spec's example datasets
# (mlcroissant warns about any standard key that is missing).
CONTEXT: dict[str, Any] = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "equivalentProperty": "cr:equivalentProperty",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
}


def croissant_data_type(arrow_type: pa.DataType) -> str:
    """The schema.org type Croissant uses for a column of ``arrow_type``."""
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "sc:Text"
    if pa.types.is_integer(arrow_type):
        return "sc:Integer"
    if pa.types.is_floating(arrow_type):
        return "sc:Float"
    if pa.types.is_boolean(arrow_type):
        return "sc:Boolean"
    raise ValueError(f"no Croissant dataType for Arrow type {arrow_type}")


def fileset_id(table: str) -> str:
    return f"{table}-files"


def _distribution(table: str, shards: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = [
        {
            "@type": "cr:FileObject",
            "@id": shard["path"],
            "name": shard["path"],
            "contentUrl": shard["path"],
            "encodingFormat": PARQUET_FORMAT,
            "contentSize": f"{shard['bytes']} B",
            "sha256": shard["sha256"],
        }
        for shard in shards
    ]
    entries.append(
        {
            "@type": "cr:FileSet",
            "@id": fileset_id(table),
            "name": fileset_id(table),
            "description": f"The Parquet shards of the {table} table.",
            "encodingFormat": PARQUET_FORMAT,
            "includes": f"{table}/*.parquet",
        }
    )
    return entries


def _record_set(fate: Fate) -> dict[str, Any]:
    table = fate.table
    return {
        "@type": "cr:RecordSet",
        "@id": table,
        "name": table,
        "description": fate.description,
        "field": [
            {
                "@type": "cr:Field",
                "@id": f"{table}/{column.name}",
                "name": column.name,
                "description": f"{column.type}{'' if column.nullable else ', never null'}",
                "dataType": croissant_data_type(column.type),
                "source": {"fileSet": {"@id": fileset_id(table)}, "extract": {"column": column.name}},
            }
            for column in fate.schema
        ],
    }


def croissant_metadata(manifest: Mapping[str, Any], output_dir: str) -> dict[str, Any]:
    """The Croissant JSON-LD of a run's output (``output_dir`` is only used for the description)."""
    known = {fate.table for fate in Fate}
    tables = {name: t for name, t in manifest.get("tables", {}).items() if name in known}
    balance = manifest["accounting"]
    description = (
        f"Curated text corpus written by curation run {manifest['run_id']} to {output_dir}: "
        f"{balance['output']:,} of {balance['records_read']:,} input records kept, "
        f"real fraction {percent(real_fraction(class_totals(manifest)))}. "
        "Every input record is in exactly one table: " + ", ".join(tables) + "."
    )
    return {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "name": f"curation-{manifest['run_id']}",
        "description": description,
        "conformsTo": CONFORMS_TO,
        "version": f"{manifest.get('schema_version', '1')}.0.0",
        "distribution": [entry for name, table in tables.items() for entry in _distribution(name, table["shards"])],
        "recordSet": [_record_set(Fate.of_table(name)) for name in tables],
    }


def write_croissant(manifest: Mapping[str, Any], output_dir: str, staging_dir: str | None = None) -> dict[str, Any]:
    """Writes ``OUTPUT/croissant.json`` (through Beam's FileSystems); returns the metadata.

    ``staging_dir``: where the output is being built, if not yet in ``output_dir``.
    """
    metadata = croissant_metadata(manifest, output_dir)
    storage.write_json(storage.join(staging_dir or output_dir, CROISSANT_FILE), metadata)
    return metadata
