"""``ReadOptions``: how inputs are read and their fields mapped onto the record schema."""

from __future__ import annotations

import dataclasses
from typing import Mapping

from curation.reading.specs import UNKNOWN_ORIGIN, InputSpec

MIB = 1024 * 1024


def parse_value_map(text: str) -> dict[str, str]:
    """``human=real,ai=synthetic`` -> dict; targets must be real, synthetic or unknown."""
    mapping = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        if "=" not in item:
            raise ValueError(f"origin value map item {item!r} is not of the form value=real|synthetic|unknown")
        key, target = (s.strip() for s in item.split("=", 1))
        mapping[key] = target
    return mapping


@dataclasses.dataclass(frozen=True)
class ReadOptions:
    """How to read inputs and map their fields onto the record schema.

    Attributes:
      inputs: the input specs (see :class:`InputSpec`); strings are parsed.
      text_field: the field holding the document text.
      id_field: the field holding a unique id; records without one get
        ``<source_uri>#<source_index>``. ``None``: always generate.
      origin_field: the field that declares who wrote the text, if any.
      origin_values: maps that field's values to ``real`` / ``synthetic`` /
        ``unknown``; a value not in the map is rejected (``unknown_origin_value``)
        so a typo cannot silently change the real:synthetic accounting.
      max_text_bytes: texts longer than this (UTF-8 bytes) are rejected.
      run_id: stamped on every row the job writes.
      split_bytes: uncompressed files larger than this are read in parts of
        about this size by several workers (see :mod:`curation.reading.splits`).
    """

    inputs: tuple[InputSpec, ...]
    text_field: str = "text"
    id_field: str | None = "id"
    origin_field: str | None = None
    origin_values: Mapping[str, str] = dataclasses.field(
        default_factory=lambda: {"real": "real", "synthetic": "synthetic"}
    )
    max_text_bytes: int = MIB
    run_id: str = "unnamed"  # jobs set a real one (see provenance.manifest.derive_run_id)
    split_bytes: int = 64 * MIB

    def __post_init__(self):
        inputs = tuple(InputSpec.parse(i) if isinstance(i, str) else i for i in self.inputs)
        if not inputs:
            raise ValueError("ReadOptions needs at least one input")
        object.__setattr__(self, "inputs", inputs)
        if not self.text_field:
            raise ValueError("text_field must name a field")
        if self.max_text_bytes <= 0:
            raise ValueError(f"max_text_bytes must be positive, got {self.max_text_bytes}")
        bad = {v for v in self.origin_values.values() if v not in ("real", "synthetic", UNKNOWN_ORIGIN)}
        if bad:
            raise ValueError(f"origin_values may map only to real, synthetic or unknown, not {sorted(bad)}")
        object.__setattr__(self, "origin_values", dict(self.origin_values))
        if not self.run_id:
            raise ValueError("run_id must not be empty")
        if self.split_bytes < 1:
            raise ValueError(f"split_bytes must be positive, got {self.split_bytes}")

    def max_line_bytes(self) -> int:
        # JSON escaping can at most ~6x a text (\uXXXX); the rest of the line is metadata.
        return 6 * self.max_text_bytes + MIB
