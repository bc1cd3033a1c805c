import json

import apache_beam as beam
import pytest
from apache_beam.testing.util import assert_that, equal_to

from curation.reading.options import ReadOptions
from curation.reading.transforms import ReadDocuments


def test_reads_globs_of_jsonl_and_gzip_and_accounts_per_file(make_pipeline, tmp_path):
    import gzip

    (tmp_path / "a.jsonl").write_text("\n".join(json.dumps({"id": f"a{i}", "text": f"t{i}"}) for i in range(5)))
    (tmp_path / "b.jsonl.gz").write_bytes(
        gzip.compress(b"\n".join(json.dumps({"id": f"b{i}", "text": "x"}).encode() for i in range(3)) + b"\nnot json\n")
    )
    # Truncated after its first record: Beam's own gzip reader would end it silently.
    truncated = gzip.compress(json.dumps({"id": "c0", "text": "x"}).encode() + b"\n" + b"y" * 100_000)
    (tmp_path / "c.jsonl.gz").write_bytes(truncated[: len(truncated) // 2])
    options = ReadOptions(inputs=(str(tmp_path / "*.jsonl*") + ":source=web",), run_id="r")
    with make_pipeline() as p:
        read = p | ReadDocuments(options)
        assert_that(read["documents"] | beam.Map(lambda r: (r["id"], r["source"])),
                    equal_to([(f"a{i}", "web") for i in range(5)] + [(f"b{i}", "web") for i in range(3)]
                             + [("c0", "web")]),
                    label="documents")
        assert_that(read["rejected"] | beam.Map(lambda r: (r["reason"], r["source_index"])),
                    equal_to([("invalid_json", 3), ("unreadable_file", 1)]), label="rejected")
        assert_that(read["files"] | beam.Map(lambda f: (f["uri"].rsplit("/", 1)[1], f["records"])),
                    equal_to([("a.jsonl", 5), ("b.jsonl.gz", 4), ("c.jsonl.gz", 2)]), label="files")


def test_a_pattern_matching_nothing_fails_when_the_pipeline_is_built(make_pipeline, tmp_path):
    options = ReadOptions(inputs=(str(tmp_path / "missing-*.jsonl"),), run_id="r")
    with pytest.raises(ValueError, match="matched no files"):
        with make_pipeline() as p:
            _ = p | ReadDocuments(options)
