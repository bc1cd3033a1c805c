"""How each policy assembles a generation's training corpus from real data and
earlier generations' output. Pure: the curate job itself is wired in by the caller.

* ``replace``: only the previous generation's samples (the classic collapse setting).
* ``uncurated``: a web-like mix: all the real training documents plus synthetic
  documents drawn from every earlier generation's output, the synthetic share
  growing each generation; nothing is filtered.
* ``curated``: the same mix, labelled as a web crawl would be and passed through
  the curate job (dedup, origin rule, ``--min-real-fraction``, tail-preserving
  sampling) before training.
"""

from __future__ import annotations

import dataclasses
import enum
import random
from typing import Any, Sequence

from curation.schema import Origin

REAL, SYNTHETIC = Origin.REAL.value, Origin.SYNTHETIC.value


class Policy(str, enum.Enum):
    REPLACE = "replace"
    UNCURATED = "uncurated"
    CURATED = "curated"


@dataclasses.dataclass(frozen=True)
class Document:
    """One training document; ``origin`` is the truth, known to the simulation only."""

    id: str
    text: str
    source: str
    origin: str  # an Origin value


def synthetic_share(generation: int, step: float, maximum: float) -> float:
    """The web's synthetic share at ``generation``: ``step`` more per generation, capped."""
    return min(step * generation, maximum)


def web_mix(
    real: Sequence[Document], synthetic_pool: Sequence[Document], share: float, rng: random.Random
) -> list[Document]:
    """All of ``real`` plus synthetic documents drawn without replacement from
    ``synthetic_pool``, as many as make them ``share`` of the mix (fewer if the
    pool runs out). The real side stays whole: the web does not lose its human
    text, it gains machine text."""
    if not 0 <= share < 1:
        raise ValueError(f"share must be in [0, 1), got {share}")
    wanted = min(round(len(real) * share / (1 - share)), len(synthetic_pool))
    return [*real, *rng.sample(list(synthetic_pool), wanted)]


def crawl_records(mix: Sequence[Document], undeclared_share: float, rng: random.Random) -> list[dict[str, Any]]:
    """The mix as JSONL records a crawl would deliver: ``id``, ``text``,
    ``module`` (the source), and ``origin`` declared truthfully except on about
    ``undeclared_share`` of the records, which carry no origin at all."""
    if not 0 <= undeclared_share <= 1:
        raise ValueError(f"undeclared_share must be in [0, 1], got {undeclared_share}")
    records = []
    for doc in mix:
        record: dict[str, Any] = {"id": doc.id, "text": doc.text, "module": doc.source}
        if rng.random() >= undeclared_share:
            record["origin"] = doc.origin
        records.append(record)
    return records


def synthetic_id(chain: str, generation: int, index: int) -> str:
    """Unique across chains (policies) and generations, so a mix never repeats an id."""
    return f"{chain}-g{generation}-{index}"
