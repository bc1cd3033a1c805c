"""Input specs: parsing ``--input``, naming sources, telling formats."""

import pytest

from curation.reading.specs import InputSpec, file_format


def test_input_spec_parsing():
    assert InputSpec.parse("gs://bucket/web/*.jsonl.gz") == InputSpec("gs://bucket/web/*.jsonl.gz")
    spec = InputSpec.parse("gs://bucket/web/*.jsonl.gz:source=web,origin=unknown")
    assert spec == InputSpec("gs://bucket/web/*.jsonl.gz", "web", "unknown")
    assert InputSpec.parse("gs://bucket/web/*.jsonl.gz").source_name() == "web"
    assert InputSpec.parse("/x/part-1.jsonl.gz").source_name() == "part-1"
    with pytest.raises(ValueError, match="unknown option"):
        InputSpec.parse("a.jsonl:colour=red")
    with pytest.raises(ValueError, match="origin must be"):
        InputSpec.parse("a.jsonl:origin=robot")


def test_an_unknown_extension_has_no_format():
    with pytest.raises(ValueError, match="format"):
        file_format("notes.txt")
