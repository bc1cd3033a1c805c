"""croissant.json follows the published Croissant 1.0 JSON-LD structure and covers every shard."""

import fnmatch
import json
import os

import pytest

from curation.provenance.croissant import CONFORMS_TO, CROISSANT_FILE, write_croissant
from curation.schema import TABLE_SCHEMAS

EXPECTED_TYPES = {"string": "sc:Text", "int64": "sc:Integer", "double": "sc:Float", "bool": "sc:Boolean"}


def _check_structure(metadata: dict, manifest: dict, out: str) -> None:
    context = metadata["@context"]
    assert context["@vocab"] == "https://schema.org/"
    assert context["cr"] == "http://mlcommons.org/croissant/"
    assert context["conformsTo"] == "dct:conformsTo"
    assert metadata["@type"] == "sc:Dataset"
    assert metadata["conformsTo"] == CONFORMS_TO
    assert metadata["name"] and metadata["description"]
    by_id = {d["@id"]: d for d in metadata["distribution"]}
    assert len(by_id) == len(metadata["distribution"])
    record_sets = {r["@id"]: r for r in metadata["recordSet"]}
    assert set(record_sets) == set(manifest["tables"])
    for table, described in manifest["tables"].items():
        filesets = [
            d for d in metadata["distribution"] if d["@type"] == "cr:FileSet" and d["includes"].startswith(f"{table}/")
        ]
        assert len(filesets) == 1
        fileset = filesets[0]
        assert fileset["encodingFormat"] == "application/x-parquet"
        on_disk = sorted(f"{table}/{name}" for name in os.listdir(os.path.join(out, table)))
        assert on_disk == sorted(s["path"] for s in described["shards"])
        assert all(fnmatch.fnmatch(path, fileset["includes"]) for path in on_disk)
        for shard in described["shards"]:
            obj = by_id[shard["path"]]
            assert obj["@type"] == "cr:FileObject" and obj["contentUrl"] == shard["path"]
            assert obj["sha256"] == shard["sha256"] and obj["contentSize"] == f"{shard['bytes']} B"
        fields = {f["name"]: f for f in record_sets[table]["field"]}
        schema = TABLE_SCHEMAS[table]
        assert list(fields) == schema.names
        for column in schema:
            field = fields[column.name]
            assert field["@type"] == "cr:Field" and field["@id"] == f"{table}/{column.name}"
            assert field["dataType"] == EXPECTED_TYPES[str(column.type)]
            assert field["source"] == {"fileSet": {"@id": fileset["@id"]}, "extract": {"column": column.name}}


def test_croissant_describes_every_table_column_and_shard(curated_output):
    out, manifest, _ = curated_output
    metadata = write_croissant(manifest, out)
    with open(os.path.join(out, CROISSANT_FILE), encoding="utf-8") as f:
        assert json.load(f) == metadata
    _check_structure(metadata, manifest, out)


def test_croissant_covers_dedup_and_sampling_tables(full_output):
    out, manifest = full_output
    metadata = write_croissant(manifest, out)
    _check_structure(metadata, manifest, out)
    assert {r["@id"] for r in metadata["recordSet"]} == {"data", "rejected", "duplicates", "not_selected"}


def test_croissant_validates_and_loads_with_mlcroissant(curated_output):
    mlc = pytest.importorskip("mlcroissant")
    out, manifest, _ = curated_output
    write_croissant(manifest, out)
    dataset = mlc.Dataset(jsonld=os.path.join(out, CROISSANT_FILE))  # raises mlc.ValidationError if invalid
    assert sum(1 for _ in dataset.records("data")) == manifest["tables"]["data"]["rows"]
