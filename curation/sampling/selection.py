"""From stratum counts to an exact selection and shard plan, and the sample's tail report.

Pure functions over small summaries (counts per stratum and origin), so the
whole plan is computed in one place and tested without a pipeline.
"""

from __future__ import annotations

import math
from typing import Mapping

from curation.sampling import tail_metrics
from curation.sampling.allocation import plan_budgets, plan_origin_totals, plan_shard_counts
from curation.sampling.options import SampleOptions
from curation.schema import Origin

REAL, SYNTHETIC = Origin.REAL.value, Origin.SYNTHETIC.value
Group = tuple[str, str]  # (stratum, origin)


def _shard_count(total: int, average_bytes: float, options: SampleOptions) -> int:
    if options.num_shards:
        return options.num_shards
    return max(1, math.ceil(total / options.shard_rows), math.ceil(total * average_bytes / options.shard_bytes))


def plan_selection(counts: Mapping[Group, int], text_bytes: int, options: SampleOptions) -> dict:
    """Quotas per (stratum, origin) and the per-shard real/synthetic counts.

    The shard count follows from the planned total (and the candidates' average
    text size), and is then fixed, because the per-shard ratio depends on it.
    Raises ``ImpossibleRequestError`` (a ``ValueError``) for requests that
    cannot be met, before anything is selected.
    """
    real_sizes = {s: n for (s, o), n in counts.items() if o == REAL}
    synthetic_sizes = {s: n for (s, o), n in counts.items() if o == SYNTHETIC}
    candidates = sum(counts.values())
    targets = dict(
        min_real_fraction=options.min_real_fraction,
        sample_size=options.sample_size,
        sample_fraction=options.sample_fraction,
    )
    real_total, synthetic_total = plan_origin_totals(
        sum(real_sizes.values()), sum(synthetic_sizes.values()), **targets
    )
    num_shards = _shard_count(real_total + synthetic_total, text_bytes / max(1, candidates), options)
    budget = plan_budgets(
        real_sizes, synthetic_sizes, **targets, num_shards=num_shards,
        method=options.allocation, temperature=options.temperature,
    )
    shards = plan_shard_counts(budget.real_total, budget.synthetic_total, num_shards, options.min_real_fraction)
    quotas = {(s, REAL): q for s, q in budget.real_quotas.items()}
    quotas.update({(s, SYNTHETIC): q for s, q in budget.synthetic_quotas.items()})
    return {
        "sizes": dict(counts),
        "quotas": quotas,
        "shards": [{REAL: r, SYNTHETIC: s} for r, s in shards],
    }


def sampling_report(plan: Mapping, rare_vocabulary_coverage: float, options: SampleOptions) -> dict:
    """The manifest's ``sampling`` section: per-stratum counts in and out, and tail figures.

    ``rare_vocabulary_coverage`` is computed per vocabulary shard in the pipeline
    (see :func:`curation.sampling.tail_metrics.rare_type_tally`).
    """
    sizes, quotas = plan["sizes"], plan["quotas"]
    strata: dict[str, dict[str, int]] = {}
    for (stratum, origin), n in sorted(sizes.items()):
        row = strata.setdefault(stratum, {"in": 0, "out": 0})
        row["in"] += n
        row["out"] += quotas.get((stratum, origin), 0)
        row[f"in_{origin}"] = n
        row[f"out_{origin}"] = quotas.get((stratum, origin), 0)
    counts_in = {s: row["in"] for s, row in strata.items()}
    counts_out = {s: row["out"] for s, row in strata.items()}

    def origin_total(which: Mapping[Group, int], origin: str) -> int:
        return sum(n for (_, o), n in which.items() if o == origin)

    return {
        "options": options.as_config(),
        "candidates": {REAL: origin_total(sizes, REAL), SYNTHETIC: origin_total(sizes, SYNTHETIC)},
        "selected": {REAL: origin_total(quotas, REAL), SYNTHETIC: origin_total(quotas, SYNTHETIC)},
        "num_shards": len(plan["shards"]),
        "strata": strata,
        "tail": {
            "strata_in": sum(1 for n in counts_in.values() if n),
            "strata_out": sum(1 for n in counts_out.values() if n),
            "rarest_decile_kept_share": tail_metrics.rarest_strata_kept_share(counts_in, counts_out, 0.1),
            "jensen_shannon_divergence": tail_metrics.jensen_shannon_divergence(counts_in, counts_out),
            "rare_vocabulary_coverage": rare_vocabulary_coverage,
        },
    }
