"""Reading one file: a failure of the file itself becomes one rejected row where reading stopped."""

import gzip
import io

from curation.reading.files import read_file
from curation.schema import Fate
from tests.factories import read_options


def test_corrupt_gzip_becomes_one_rejected_row_after_the_good_records():
    good = gzip.compress(b'{"id": 1, "text": "one"}\n{"id": 2, "text": "two"}\n' * 50)
    options = read_options(inputs=("/d/x.jsonl.gz",))
    stream = gzip.GzipFile(fileobj=io.BytesIO(good[: len(good) // 2]))
    rows = list(read_file(stream, "/d/x.jsonl.gz", options.inputs[0], options))
    assert rows[-1][0] == Fate.REJECTED.tag and rows[-1][1]["reason"] == "unreadable_file"
    assert all(tag == Fate.OUTPUT.tag for tag, _ in rows[:-1])
    assert rows[-1][1]["source_index"] == len(rows) - 1
