"""Labelled documents for training and evaluating the detector.

Read with the same reader as the jobs (:mod:`curation.reading`), so field
mapping, formats and paths work the same way: the label is the reader's
declared origin, domain and generator come from the pass-through metadata.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any, Mapping, Sequence

from curation.hashing import content_hash
from curation.reading.options import ReadOptions, parse_value_map
from curation.reading.transforms import iter_inputs
from curation.schema import Fate, Origin

# Label values understood without a --label-map; anything else must be mapped.
DEFAULT_LABEL_MAP: Mapping[str, str] = {
    "human": Origin.REAL.value,
    "real": Origin.REAL.value,
    "synthetic": Origin.SYNTHETIC.value,
}
UNKNOWN = "unknown"  # domain / generator of a record that does not say


@dataclasses.dataclass(frozen=True)
class LabelledDoc:
    id: str
    text: str
    label: str  # an Origin value
    domain: str = UNKNOWN
    generator: str = UNKNOWN

    @property
    def is_synthetic(self) -> bool:
        return self.label == Origin.SYNTHETIC.value


@dataclasses.dataclass(frozen=True)
class LabelledFields:
    """Which input fields hold what, and how label values map to real / synthetic."""

    text: str = "text"
    label: str = "label"
    id: str = "id"
    domain: str | None = "domain"
    generator: str | None = "generator"
    label_map: Mapping[str, str] = dataclasses.field(default_factory=lambda: dict(DEFAULT_LABEL_MAP))

    def __post_init__(self) -> None:
        bad = {k: v for k, v in self.label_map.items() if v not in {o.value for o in Origin}}
        if bad:
            raise ValueError(f"label_map values must be 'real' or 'synthetic', got {bad}")


def parse_label_map(spec: str) -> dict[str, str]:
    """Parses ``human=real,ai=synthetic`` into a dict (the readers' value-map syntax)."""
    return parse_value_map(spec)


def load_labelled(path: str, fields: LabelledFields = LabelledFields()) -> list[LabelledDoc]:
    """Reads JSONL (optionally compressed) or Parquet files matching ``path`` with the shared reader.

    Any path Beam's FileSystems knows works (``gs://`` included). Training data
    must be clean: a record the reader rejects, or one without a mapped label,
    is an error naming its file and line.
    """
    options = ReadOptions(
        inputs=(path,),
        text_field=fields.text,
        # The id stays in metadata: a record without one gets its content hash,
        # which (unlike a file location) keeps the seeded split stable when files move.
        id_field=None,
        origin_field=fields.label,
        origin_values=fields.label_map,
        run_id="labelled",
    )
    docs = [_to_doc(tag, row, fields) for tag, row in iter_inputs(options)]
    if not docs:
        raise ValueError(f"no labelled documents in {path}")
    return docs


def _to_doc(tag: str, row: Mapping[str, Any], fields: LabelledFields) -> LabelledDoc:
    where = f"{row['source_uri']}#{row['source_index']}"  # the FILE#LINE of ids and trace (line from 0)
    if tag != Fate.OUTPUT.tag:
        hint = " (map label values with --label-map VALUE=real|synthetic)" if row["reason"] == "unknown_origin_value" else ""
        raise ValueError(f"{where}: {row['reason']}: {row['detail']}{hint}")
    if row["declared_origin"] is None:
        raise ValueError(
            f"{where}: no label in field {fields.label!r}; training data needs one on every record "
            f"(map values with e.g. --label-map human=real,ai=synthetic)"
        )
    metadata = json.loads(row["metadata"])
    given_id = metadata.get(fields.id) if fields.id else None
    return LabelledDoc(
        id=str(given_id) if given_id not in (None, "") else content_hash(row["text"]),
        text=row["text"],
        label=row["declared_origin"],
        domain=_optional(metadata, fields.domain),
        generator=_optional(metadata, fields.generator),
    )


def _optional(metadata: Mapping[str, Any], field: str | None) -> str:
    value = metadata.get(field) if field else None
    return str(value) if value not in (None, "") else UNKNOWN


def fingerprint(docs: Sequence[LabelledDoc]) -> str:
    """sha256 over the sorted (id, label, content hash) lines: same data, same fingerprint."""
    lines = sorted(f"{d.id}\t{d.label}\t{content_hash(d.text)}\n" for d in docs)
    return hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()
