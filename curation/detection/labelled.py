"""Labelled documents for training and evaluating the detector.

``load_labelled`` is the one place that reads files here; it will give way to
the shared reader in ``curation.reading`` without the rest of the package changing.
"""

from __future__ import annotations

import dataclasses
import glob
import gzip
import hashlib
import json
from typing import Any, Iterator, Mapping, Sequence

from curation.hashing import content_hash
from curation.schema import Origin

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
    """Parses ``human=real,ai=synthetic`` into a dict."""
    mapping = {}
    for pair in filter(None, (p.strip() for p in spec.split(","))):
        raw, sep, origin = pair.partition("=")
        if not sep or not raw.strip():
            raise ValueError(f"label map entries look like value=real or value=synthetic, got {pair!r}")
        mapping[raw.strip()] = origin.strip()
    return mapping


def load_labelled(path: str, fields: LabelledFields = LabelledFields()) -> list[LabelledDoc]:
    """Reads JSONL (optionally .gz) or Parquet files matching ``path`` (a file or glob).

    Records without an id get their content hash as id. An unmapped label or a
    missing text is an error naming the file and row: training data must be clean.
    """
    files = sorted(glob.glob(path)) or [path]
    docs = []
    for file in files:
        for row_number, row in enumerate(_rows(file)):
            docs.append(_to_doc(row, fields, f"{file}:{row_number}"))
    if not docs:
        raise ValueError(f"no labelled documents in {path}")
    return docs


def _rows(file: str) -> Iterator[Mapping[str, Any]]:
    if file.endswith(".parquet"):
        import pyarrow.parquet as pq

        yield from pq.read_table(file).to_pylist()
        return
    opener = gzip.open if file.endswith(".gz") else open
    with opener(file, "rt", encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def _to_doc(row: Mapping[str, Any], fields: LabelledFields, where: str) -> LabelledDoc:
    text = row.get(fields.text)
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{where}: field {fields.text!r} is missing or not a non-empty string")
    raw_label = str(row.get(fields.label))
    if raw_label not in fields.label_map:
        raise ValueError(
            f"{where}: label {raw_label!r} in field {fields.label!r} is not in the label map "
            f"{dict(fields.label_map)}; pass e.g. --label-map {raw_label}=real"
        )
    raw_id = row.get(fields.id)
    return LabelledDoc(
        id=str(raw_id) if raw_id not in (None, "") else content_hash(text),
        text=text,
        label=fields.label_map[raw_label],
        domain=_optional(row, fields.domain),
        generator=_optional(row, fields.generator),
    )


def _optional(row: Mapping[str, Any], field: str | None) -> str:
    value = row.get(field) if field else None
    return str(value) if value not in (None, "") else UNKNOWN


def fingerprint(docs: Sequence[LabelledDoc]) -> str:
    """sha256 over the sorted (id, label, content hash) lines: same data, same fingerprint."""
    lines = sorted(f"{d.id}\t{d.label}\t{content_hash(d.text)}\n" for d in docs)
    return hashlib.sha256("".join(lines).encode("utf-8")).hexdigest()
