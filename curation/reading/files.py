"""Reading one input file, whatever its format; a failure of the file itself costs only the rest of it."""

from __future__ import annotations

from typing import Any, BinaryIO, Iterator

from curation.reading.jsonl import read_jsonl
from curation.reading.options import ReadOptions
from curation.reading.parquet import read_parquet
from curation.reading.records import rejected_row
from curation.reading.specs import InputSpec, file_format
from curation.schema import Fate, RejectReason


def read_file(
    stream: BinaryIO, uri: str, spec: InputSpec, options: ReadOptions, **part: Any
) -> Iterator[tuple[str, dict]]:
    """Reads one (already decompressed) file, or the part of it that ``part`` names
    (``read_jsonl`` / ``read_parquet`` keywords); a failure of the file itself
    becomes one rejected row.

    Records yielded before the failure stand; the rejected row sits at the index
    where reading stopped, so the accounting still says where the rest went.
    """
    reader = read_parquet if file_format(uri) == "parquet" else read_jsonl
    last_index = part.get("first_index", 0) - 1
    try:
        for tag, row in reader(stream, uri, spec, options, **part):
            last_index = row["source_index"]
            yield tag, row
    except Exception as err:  # noqa: BLE001
        # Corrupt gzip (BadGzipFile, EOFError), bad Parquet (ArrowInvalid), a broken
        # stream: whatever the file did, the job goes on and says where it stopped.
        yield Fate.REJECTED.tag, rejected_row(
            RejectReason.UNREADABLE_FILE,
            f"{type(err).__name__}: {str(err)[:300]}",
            spec.source_name(), uri, last_index + 1, b"", options.run_id,
        )
