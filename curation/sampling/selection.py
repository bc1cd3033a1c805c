"""From stratum sizes to an exact selection and shard plan, and the sample's tail report.

Pure functions over small summaries (documents and text bytes per stratum and
origin), so the whole plan is computed in one place and tested without a pipeline.

In the ``bytes`` unit a cell's quota is often smaller than one document (the
demo's 1,490 cells share 171,235 synthetic bytes of about 430-byte documents), so
cutting each cell at its quota alone would round most of them to nothing. Each
cell is cut at its floor instead (the longest prefix of its seeded-hash order
that fits in its quota), and the origin's spare (its quota minus the floors) is
spent on the cells' crossing records (the next one after each floor), in one
seeded decision per origin (:func:`crossings_taken`): every cell holds its floor
or one record more, within one document of its quota; the real total is met or
passed by less than one document and the synthetic total is never passed, so
rounding never costs the floor.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Mapping, NamedTuple

from curation.hashing import seeded_hash64
from curation.ranking.core import OrderKey, key_after
from curation.sampling import tail_metrics
from curation.sampling.allocation import plan_budgets, plan_origin_totals, plan_shard_counts
from curation.sampling.options import SampleOptions
from curation.sampling.strata import user_stratum
from curation.schema import Origin, RatioUnit, text_bytes

REAL, SYNTHETIC = Origin.REAL.value, Origin.SYNTHETIC.value
Group = tuple[str, str]  # (stratum, origin)


class GroupSize(NamedTuple):
    """What a (stratum, origin) group holds; sums (and a max) combine across workers."""

    documents: int
    text_bytes: int
    longest: int  # UTF-8 bytes of the group's longest text


def size_of_text(text: str) -> GroupSize:
    """One record's contribution to its group's :class:`GroupSize`."""
    size = text_bytes(text)
    return GroupSize(1, size, size)


def _shard_count(planned: int, unit: RatioUnit, average_bytes: float, options: SampleOptions) -> int:
    """Shards for ``planned`` (in ``unit``), the other measure estimated from the
    candidates' average text size."""
    if unit is RatioUnit.ROWS:
        documents, text = planned, planned * average_bytes
    else:
        documents, text = (planned / average_bytes if average_bytes else 0), planned
    return options.shards.data_shard_count(documents, text)


def plan_selection(groups: Mapping[Group, GroupSize | tuple[int, int, int]], options: SampleOptions) -> dict:
    """Quotas per (stratum, origin) in the options' ratio unit, and the shard count.

    Quotas are allocated per origin in two levels: across the user strata, then
    within each across its cells (:func:`~curation.sampling.allocation.plan_budgets`).
    The shard count follows from the planned total (and the candidates' average
    text size), and is then fixed, because the per-shard ratio depends on it. In
    rows the plan also holds each shard's real/synthetic counts (``shards``); in
    bytes those follow from the bytes actually selected (:func:`byte_shard_plan`).
    Raises ``ImpossibleRequestError`` (a ``ValueError``) for requests that
    cannot be met, before anything is selected.
    """
    groups = {group: GroupSize(*size) for group, size in groups.items()}
    unit = RatioUnit(options.ratio_unit)

    def sizes_of(origin: str) -> dict[str, int]:
        return {
            stratum: size.documents if unit is RatioUnit.ROWS else size.text_bytes
            for (stratum, o), size in groups.items()
            if o == origin
        }

    real_sizes, synthetic_sizes = sizes_of(REAL), sizes_of(SYNTHETIC)
    longest = tuple(
        max((s.longest for (_, o), s in groups.items() if o == origin), default=0) for origin in (REAL, SYNTHETIC)
    )
    targets = dict(
        min_real_fraction=options.min_real_fraction,
        sample_size=options.sample_size,
        sample_fraction=options.sample_fraction,
        unit=unit,
        longest_documents=longest,
    )
    real_total, synthetic_total = plan_origin_totals(sum(real_sizes.values()), sum(synthetic_sizes.values()), **targets)
    documents = sum(s.documents for s in groups.values())
    average_bytes = sum(s.text_bytes for s in groups.values()) / max(1, documents)
    num_shards = _shard_count(real_total + synthetic_total, unit, average_bytes, options)
    fields = len(options.strata_fields)
    budget = plan_budgets(
        real_sizes, synthetic_sizes, **targets, num_shards=num_shards,
        method=options.allocation, temperature=options.temperature,
        outer_of=lambda stratum: user_stratum(stratum, fields),
    )
    quotas = {(s, REAL): q for s, q in budget.real_quotas.items()}
    quotas.update({(s, SYNTHETIC): q for s, q in budget.synthetic_quotas.items()})
    plan = {
        "unit": unit.value,
        "sizes": {group: size.documents for group, size in groups.items()},
        "text_bytes": {group: size.text_bytes for group, size in groups.items()},
        "quotas": quotas,
        "num_shards": num_shards,
    }
    if unit is RatioUnit.ROWS:
        shards = plan_shard_counts(budget.real_total, budget.synthetic_total, num_shards, options.min_real_fraction)
        plan["shards"] = [{REAL: r, SYNTHETIC: s} for r, s in shards]
    return plan


def inclusion_probability(plan: Mapping, group: Group) -> float:
    """The share of its group each record was given: quota / size, in the plan's unit
    (in bytes, the expected share of its cell's text)."""
    size = plan["sizes"][group] if plan["unit"] == RatioUnit.ROWS.value else plan["text_bytes"][group]
    return plan["quotas"].get(group, 0) / size if size else 1.0


def _is_cut(plan: Mapping, group: Group) -> bool:
    """A cell cut inside its text (bytes unit): a quota below its size."""
    return plan["quotas"].get(group, 0) < plan["text_bytes"][group]


def selection_targets(plan: Mapping) -> dict:
    """``RankBoundaries`` targets per (stratum, origin) group, below which records are selected.

    Rows: its quota (a rank). Bytes: for each cell cut inside its text, its quota
    as a byte position over its records in seeded-hash order; the record covering
    it is the cell's crossing record (see :func:`selection_cutoffs`). Cells kept
    whole need no cut.
    """
    if plan["unit"] == RatioUnit.ROWS.value:
        return {group: (documents, [plan["quotas"].get(group, 0)]) for group, documents in plan["sizes"].items()}
    return {
        group: (documents, [plan["quotas"].get(group, 0)])
        for group, documents in plan["sizes"].items()
        if _is_cut(plan, group)
    }


class Crossing(NamedTuple):
    """A cut cell's crossing record: the first one past its floor, which would pass its quota."""

    group: Group
    key: OrderKey
    remainder: int  # the cell's quota minus its floor's bytes (its records below the crossing one)
    text_bytes: int  # the crossing record's


def crossings_taken(crossings: list[Crossing], seed: int) -> set[Group]:
    """The cells of one origin whose crossing record is taken, to meet the origin's total.

    Each cell's floor leaves ``remainder`` of its quota unspent; the origin's spare
    is their sum. Crossing records are taken in a seeded order, by ``u * bytes /
    remainder`` (``u`` a seeded hash in (0, 1]: a cell's chance grows with the
    share of the record its quota still covers, so each cell is met in
    expectation), real ones until the spare is reached (the real total is met or
    passed by less than one document), synthetic ones while they fit in it (the
    synthetic total is never passed, and missed by less than one document).
    A cell whose floor meets its quota exactly is never offered.
    """
    spare = sum(c.remainder for c in crossings)

    def order(c: Crossing):
        u = seeded_hash64(c.key[1], seed, "crossing") + 2**63 + 1
        return Fraction(u * c.text_bytes, c.remainder), c.key

    taken: set[Group] = set()
    spent = 0
    for c in sorted((c for c in crossings if c.remainder), key=order):
        if c.group[1] == REAL and spent >= spare or c.group[1] != REAL and spent + c.text_bytes > spare:
            break
        taken.add(c.group)
        spent += c.text_bytes
    return taken


def selection_cutoffs(plan: Mapping, found: Mapping, seed: int) -> dict:
    """Each group's cut-off keys from what was found at :func:`selection_targets`:
    records ordered below them are selected (``None`` or no key: all of them).

    Bytes (``found`` with extents, see ``RankBoundaries``): each cut cell keeps its
    floor, the longest prefix of its seeded-hash order whose bytes fit in its
    quota, plus its crossing record if :func:`crossings_taken` takes it; so every
    cell is within one document of its quota and each origin's total as stated there.
    """
    if plan["unit"] == RatioUnit.ROWS.value:
        return dict(found)
    crossings = {REAL: [], SYNTHETIC: []}
    for group, ((key, start, weight),) in found.items():
        crossings[group[1]].append(Crossing(group, key, plan["quotas"].get(group, 0) - start, weight))
    taken = set().union(*(crossings_taken(crossings[origin], seed) for origin in (REAL, SYNTHETIC)))
    cutoffs = {group: [] for group in plan["sizes"]}  # kept whole
    for origin_crossings in crossings.values():
        for c in origin_crossings:
            cutoffs[c.group] = [key_after(c.key) if c.group in taken else c.key]
    return cutoffs


def byte_shard_plan(selected_text_bytes: Mapping[str, int], num_shards: int) -> list[dict[str, int]]:
    """Per shard, the real and synthetic text bytes the writer places: each origin's
    selected bytes spread evenly (floor or ceiling of its share)."""
    shards = plan_shard_counts(selected_text_bytes.get(REAL, 0), selected_text_bytes.get(SYNTHETIC, 0), num_shards)
    return [{REAL: r, SYNTHETIC: s} for r, s in shards]


def _in_out(plan: Mapping, selected: Mapping[Group, tuple[int, int]], level) -> dict[str, dict[str, int]]:
    """Documents and text bytes in and out per stratum of a level (``level``: cell -> its stratum)."""
    rows: dict[str, dict[str, int]] = {}
    for group in sorted(plan["sizes"]):
        stratum, origin = group
        documents_out, bytes_out = selected.get(group, (0, 0))
        row = rows.setdefault(level(stratum), {"in": 0, "out": 0})
        figures = {
            "in": plan["sizes"][group], "out": documents_out,
            f"in_{origin}": plan["sizes"][group], f"out_{origin}": documents_out,
            f"in_{origin}_text_bytes": plan["text_bytes"][group], f"out_{origin}_text_bytes": bytes_out,
        }
        for name, n in figures.items():
            row[name] = row.get(name, 0) + n
    return rows


def _tail(rows: Mapping[str, Mapping[str, int]]) -> dict:
    counts_in = {s: row["in"] for s, row in rows.items()}
    counts_out = {s: row["out"] for s, row in rows.items()}
    return {
        "strata_in": sum(1 for n in counts_in.values() if n),
        "strata_out": sum(1 for n in counts_out.values() if n),
        "rarest_decile_kept_share": tail_metrics.rarest_strata_kept_share(counts_in, counts_out, 0.1),
        "jensen_shannon_divergence": tail_metrics.jensen_shannon_divergence(counts_in, counts_out),
    }


def sampling_report(
    plan: Mapping, selected: Mapping[Group, tuple[int, int]], rare_vocabulary_coverage: float, options: SampleOptions
) -> dict:
    """The manifest's ``sampling`` section: documents and text bytes in and out per
    user stratum and per cell, each by origin, the selected real shares of rows and
    of text, and the tail figures at both levels (counted in documents).

    ``selected``: ``(documents, text bytes)`` actually selected per group.
    ``rare_vocabulary_coverage`` is computed per vocabulary shard in the pipeline
    (see :func:`curation.sampling.tail_metrics.rare_type_tally`).
    """
    fields = len(options.strata_fields)
    user_strata = _in_out(plan, selected, lambda stratum: user_stratum(stratum, fields))
    cells = _in_out(plan, selected, lambda stratum: stratum)

    def per_origin(measure: Mapping[Group, int]) -> dict[str, int]:
        return {origin: sum(n for (_, o), n in measure.items() if o == origin) for origin in (REAL, SYNTHETIC)}

    selected_documents = per_origin({g: s[0] for g, s in selected.items()})
    selected_bytes = per_origin({g: s[1] for g, s in selected.items()})

    def real_share(by_origin: Mapping[str, int]) -> float:
        total = sum(by_origin.values())
        return by_origin[REAL] / total if total else math.nan

    return {
        "options": options.as_config(),
        "ratio_unit": plan["unit"],
        "candidates": per_origin(plan["sizes"]),
        "candidate_text_bytes": per_origin(plan["text_bytes"]),
        # The quotas' totals in the ratio unit: in bytes each origin's total is met to within
        # one document (real at or above it, synthetic at or below), so these can differ.
        "planned": per_origin(plan["quotas"]),
        "selected": selected_documents,
        "selected_text_bytes": selected_bytes,
        "real_share": {"rows": real_share(selected_documents), "text": real_share(selected_bytes)},
        "num_shards": plan["num_shards"],
        "user_strata": user_strata,
        "strata": cells,
        "tail": {
            "user_strata": _tail(user_strata),
            "cells": _tail(cells),
            "rare_vocabulary_coverage": rare_vocabulary_coverage,
        },
    }
