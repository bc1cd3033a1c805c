"""What one ``--input`` says: a file pattern, its format and what to say about its records."""

from __future__ import annotations

import dataclasses
import os
import re

from curation.reading.compression import compression_suffix
from curation.schema import Origin

UNKNOWN_ORIGIN = "unknown"  # value-map target meaning "the input does not say"

_SPEC_OPTIONS = re.compile(r"^(?P<pattern>.+?):(?P<opts>[a-z_]+=[^,:=]*(?:,[a-z_]+=[^,:=]*)*)$")
_KNOWN_FORMATS = {".jsonl": "jsonl", ".json": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet"}


@dataclasses.dataclass(frozen=True)
class InputSpec:
    """One ``--input``: a file pattern plus what to say about every record in it.

    ``source`` names the dataset (default: the file's stem, or the parent folder's
    name for a glob). ``origin`` declares the origin of every record of this input
    (``real`` / ``synthetic``), or ``unknown`` to ignore the origin field here.
    """

    pattern: str
    source: str | None = None
    origin: str | None = None

    def __post_init__(self):
        if not self.pattern:
            raise ValueError("an input pattern is empty")
        if self.origin not in (None, Origin.REAL.value, Origin.SYNTHETIC.value, UNKNOWN_ORIGIN):
            raise ValueError(
                f"input {self.pattern!r}: origin must be real, synthetic or unknown, got {self.origin!r}"
            )

    @classmethod
    def parse(cls, spec: str) -> "InputSpec":
        """Parses ``PATTERN[:key=value,...]``, e.g. ``gs://b/web/*.jsonl.gz:source=web,origin=unknown``."""
        match = _SPEC_OPTIONS.match(spec)
        if not match:
            return cls(pattern=spec)
        options = dict(item.split("=", 1) for item in match["opts"].split(","))
        unknown = set(options) - {"source", "origin"}
        if unknown:
            raise ValueError(f"input {spec!r}: unknown option(s) {sorted(unknown)}; known: source, origin")
        return cls(pattern=match["pattern"], **options)

    def source_name(self) -> str:
        if self.source:
            return self.source
        head, tail = os.path.split(self.pattern.rstrip("/"))
        if any(ch in tail for ch in "*?["):
            return os.path.basename(head) or "input"
        return strip_extensions(tail)


def is_compressed(uri: str) -> bool:
    """Whether the file name says compressed (then it can only be read from the start)."""
    return bool(compression_suffix(uri.lower()))


def strip_extensions(name: str) -> str:
    """``part-1.jsonl.gz`` -> ``part-1``."""
    name = name[: len(name) - len(compression_suffix(name))]
    stem, ext = os.path.splitext(name)
    return stem if ext in _KNOWN_FORMATS else name


def file_format(uri: str) -> str:
    """``jsonl`` or ``parquet`` from the file name (compression suffixes ignored)."""
    name = uri.lower()
    name = name[: len(name) - len(compression_suffix(name))]
    fmt = _KNOWN_FORMATS.get(os.path.splitext(name)[1])
    if fmt is None:
        raise ValueError(
            f"cannot tell the format of {uri!r}: expected .jsonl/.json/.ndjson (optionally .gz) or .parquet"
        )
    return fmt
