"""Helpers shared by the reading tests: options of a test input, and reading bytes as one file."""

import io

from curation.reading.files import read_file
from curation.reading.options import ReadOptions
from tests.bad_input import MAX_TEXT_BYTES

URI = "/data/web.jsonl"


def make_options(**kw):
    kw.setdefault("inputs", (URI,))
    kw.setdefault("origin_field", "origin")
    kw.setdefault("origin_values", {"human": "real", "ai": "synthetic"})
    kw.setdefault("max_text_bytes", MAX_TEXT_BYTES)
    kw.setdefault("run_id", "run-test")
    return ReadOptions(**kw)


def read_bytes(data: bytes, options=None, uri=URI):
    options = options or make_options()
    return list(read_file(io.BytesIO(data), uri, options.inputs[0], options))
