"""Seeded train / validation / test split, stratified by (domain, label)."""

from __future__ import annotations

import collections
import dataclasses
from typing import Sequence

from curation.detection.labelled import LabelledDoc
from curation.hashing import seeded_hash64


@dataclasses.dataclass(frozen=True)
class Split:
    train: list[LabelledDoc]
    validation: list[LabelledDoc]
    test: list[LabelledDoc]


def stratified_split(
    docs: Sequence[LabelledDoc], seed: int, validation_share: float = 0.15, test_share: float = 0.15
) -> Split:
    """Each (domain, label) stratum is cut in the same proportions.

    Within a stratum documents are ordered by a seeded hash of their id, so the
    split does not depend on input order and a document keeps its side when
    others are added.
    """
    if validation_share <= 0 or test_share <= 0 or validation_share + test_share >= 1:
        raise ValueError("validation_share and test_share must be > 0 and sum to < 1")
    strata: dict[tuple[str, str], list[LabelledDoc]] = collections.defaultdict(list)
    for doc in docs:
        strata[(doc.domain, doc.label)].append(doc)
    split = Split([], [], [])
    for key in sorted(strata):
        members = sorted(strata[key], key=lambda d: (seeded_hash64(d.id, seed, "detector-split"), d.id))
        n_test = round(len(members) * test_share)
        n_validation = round(len(members) * validation_share)
        split.test.extend(members[:n_test])
        split.validation.extend(members[n_test : n_test + n_validation])
        split.train.extend(members[n_test + n_validation :])
    return split
