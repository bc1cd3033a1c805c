import gzip
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curation.detection.labelled import LabelledDoc, LabelledFields, fingerprint, load_labelled, parse_label_map
from curation.hashing import content_hash

ROWS = [
    {"key": "a", "body": "Some human words here.", "who": "person", "topic": "news", "model": None},
    {"key": "b", "body": "Some generated words here.", "who": "bot", "topic": "news", "model": "m1"},
    {"body": "No id at all.", "who": "bot"},
]
FIELDS = LabelledFields(
    text="body", label="who", id="key", domain="topic", generator="model",
    label_map=parse_label_map("person=real,bot=synthetic"),
)


def test_jsonl_gz_and_parquet_load_alike(tmp_path):
    jsonl = tmp_path / "data.jsonl.gz"
    with gzip.open(jsonl, "wt", encoding="utf-8") as f:
        f.writelines(json.dumps(r) + "\n" for r in ROWS)
    parquet = tmp_path / "data.parquet"
    pq.write_table(pa.Table.from_pylist(ROWS), parquet)
    docs = load_labelled(str(jsonl), FIELDS)
    assert docs == load_labelled(str(parquet), FIELDS)
    assert docs[0] == LabelledDoc("a", "Some human words here.", "real", "news", "unknown")
    assert docs[1].generator == "m1" and docs[1].is_synthetic
    assert docs[2].id == content_hash("No id at all.") and docs[2].domain == "unknown"


def test_unmapped_label_names_the_fix(tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_text(json.dumps({"id": "x", "text": "t", "label": "ai"}) + "\n")
    with pytest.raises(ValueError, match="label='ai'.*--label-map VALUE=real"):
        load_labelled(str(path))


def test_label_map_parsing_and_validation():
    assert parse_label_map("human=real, ai=synthetic") == {"human": "real", "ai": "synthetic"}
    with pytest.raises(ValueError):
        parse_label_map("human")
    with pytest.raises(ValueError, match="real"):
        LabelledFields(label_map={"human": "person"})


def test_fingerprint_ignores_order_but_not_labels():
    docs = [LabelledDoc("1", "a", "real"), LabelledDoc("2", "b", "synthetic")]
    assert fingerprint(docs) == fingerprint(docs[::-1])
    assert fingerprint(docs) != fingerprint([LabelledDoc("1", "a", "synthetic"), docs[1]])
