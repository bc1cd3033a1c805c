"""What near dedup did to the demo corpus, measured with exact Jaccard (no Beam).

The demo knows its planted near-duplicate pairs, so the figures are cheap: each
near removal against the survivor it names, and each planted pair.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from curation.dedup.options import NearDedupOptions
from curation.dedup.sketch import exact_text_jaccard


def planted_pairs(planted: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The near-duplicate pairs the demo corpus planted: near copies, the chain's links and ends."""
    pairs = [(d["id"], d["duplicate_of"]) for d in planted["near_duplicates"] + planted["chain"]]
    links = {d["id"]: d["duplicate_of"] for d in planted["chain"]}
    pairs.append((links[links["chain-c"]], "chain-c"))  # A and C: alike only through B
    return pairs


def near_dedup_figures(
    texts: Mapping[str, str],
    duplicates: Iterable[Mapping[str, Any]],
    pairs: Iterable[tuple[str, str]],
    options: NearDedupOptions,
) -> dict[str, Any]:
    """Removals whose exact Jaccard to their named survivor is below the threshold and below
    threshold - 0.1, and the given pairs with Jaccard >= threshold + 0.05 where both are kept."""
    duplicates = list(duplicates)
    removed = {d["id"] for d in duplicates}
    near = [exact_text_jaccard(texts[d["id"]], texts[d["duplicate_of"]], options)
            for d in duplicates if d["kind"] == "near"]
    high = [(a, b) for a, b in pairs if exact_text_jaccard(texts[a], texts[b], options) >= options.threshold + 0.05]
    return {
        "near_removed": len(near),
        "below_threshold": sum(j < options.threshold for j in near),
        "below_threshold_minus_0.1": sum(j < options.threshold - 0.1 for j in near),
        "high_pairs": len(high),
        "high_pairs_both_kept": sum(a not in removed and b not in removed for a, b in high),
    }


def describe(figures: Mapping[str, Any], threshold: float) -> str:
    """One line for the demo's summary."""
    return (
        f"  near dedup   {figures['near_removed']} removed; exact Jaccard to the survivor named "
        f"< {threshold:g}: {figures['below_threshold']}, < {threshold - 0.1:g}: "
        f"{figures['below_threshold_minus_0.1']}; planted pairs with Jaccard >= {threshold + 0.05:g} "
        f"both kept: {figures['high_pairs_both_kept']} of {figures['high_pairs']}"
    )
