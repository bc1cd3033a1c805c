"""Plots (one metric per PNG) and the markdown summary of a simulation's results."""

from __future__ import annotations

import pathlib
import statistics
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, never a display
import matplotlib.pyplot as plt  # noqa: E402  (must follow the backend choice)

# metric -> (label, True when higher is better)
METRICS: dict[str, tuple[str, bool]] = {
    "perplexity": ("perplexity on held-out real text (log scale)", False),
    "rare_type_share": ("share of rare real word types in the model's sample", True),
    "vocab_coverage": ("share of real word types in the model's vocabulary", True),
    "distinct_2": ("distinct-2 of the model's sample", True),
    "js_divergence": ("JS divergence (bits) of sample unigrams from held-out real", False),
}


def plot_metrics(results: dict[str, Any], directory: str | pathlib.Path) -> list[pathlib.Path]:
    """Writes ``<metric>.png`` per metric: generations on x, one line per policy."""
    paths = []
    for metric, (label, _) in METRICS.items():
        figure, axes = plt.subplots(figsize=(6, 4))
        for policy in results["config"]["policies"]:  # the run's order, so colours match between runs
            rows = results["policies"][policy]
            axes.plot([r["generation"] for r in rows], [r[metric] for r in rows], marker="o", label=policy)
        axes.set_xlabel("generation")
        axes.set_ylabel(metric)
        if metric == "perplexity":  # replace grows by orders of magnitude; the others would look flat
            axes.set_yscale("log")
        axes.set_title(label, fontsize=10)
        axes.xaxis.get_major_locator().set_params(integer=True)
        axes.grid(alpha=0.3)
        axes.legend()
        paths.append(_save(figure, pathlib.Path(directory) / f"{metric}.png"))
    return paths


def _save(figure, path: pathlib.Path) -> pathlib.Path:
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


PROVENANCE_LABELS = {"crawl": "as crawled", "declared": "every origin declared"}
SWEEP_METRICS = ("rare_type_share", "perplexity")


def crawl_label(results: dict[str, Any]) -> str:
    """What the crawl chains do with the undeclared records, for legends and tables."""
    undeclared = f"{results['config']['undeclared_share']:.0%} undeclared"
    rule = "decided by a detector" if results.get("curate", {}).get("detector", True) else "counted synthetic"
    return f"as crawled ({undeclared}, {rule})"


def plot_sweep(results: dict[str, Any], directory: str | pathlib.Path) -> list[pathlib.Path]:
    """Writes ``sweep_<metric>.png`` for rare types and perplexity: the last generation's
    value against the curated real floor, one line per provenance, the seed range of
    the replicated chain as an error bar, generation 0, ``uncurated`` and ``replace``
    as reference lines (a reference far off the curated scale is named, not drawn)."""
    if not results["sweep"]:
        return []
    generation = results["config"]["generations"]
    policies = results["policies"]
    paths = []
    for metric in SWEEP_METRICS:
        figure, axes = plt.subplots(figsize=(6.4, 5))
        shown = []
        for provenance, label in (("crawl", crawl_label(results)), ("declared", PROVENANCE_LABELS["declared"])):
            chains = [c for c in results["sweep"] if c["provenance"] == provenance]
            xs, ys = [c["real_fraction"] for c in chains], [c["rows"][-1][metric] for c in chains]
            axes.plot(xs, ys, marker="o", label=f"curated, {label}")
            shown += ys
        if results["replicates"]:
            values = [c["rows"][-1][metric] for c in results["replicates"]]
            r = results["replicates"][0]["real_fraction"]
            middle = (max(values) + min(values)) / 2
            axes.errorbar([r], [middle], yerr=[(max(values) - min(values)) / 2], color="black", capsize=4,
                          linestyle="none", label=f"seed range over {len(values)} seeds ({PROVENANCE_LABELS['crawl']})")
            shown += values
        references = [("generation 0", generation_zero(results)[metric], ":", "grey")]
        references += [(p, policies[p][-1][metric], style, colour) for p, style, colour in
                       (("uncurated", "--", "tab:red"), ("replace", "-.", "tab:purple")) if p in policies]
        shown += [value for _, value, _, _ in references[:2]]
        low, high = min(shown), max(shown)
        span = high - low or abs(high) or 1.0
        off_scale = []
        for name, value, style, colour in references:
            if low - 3 * span <= value <= high + 3 * span:
                axes.axhline(value, linestyle=style, color=colour, label=f"{name}: {_number(value)}")
                shown.append(value)
            else:
                off_scale.append(f"{name}: {_number(value)}")
        margin = 0.08 * (max(shown) - min(shown) or 1.0)  # reference lines do not widen the axis by themselves
        axes.set_ylim(min(shown) - margin, max(shown) + margin)
        if off_scale:
            axes.text(0.98, 0.03, "off the scale: " + ", ".join(off_scale), transform=axes.transAxes,
                      ha="right", va="bottom", fontsize=8)
        axes.set_xlabel("curated real floor r (--min-real-fraction)")
        axes.set_ylabel(f"{metric}, generation {generation}")
        axes.set_title(f"{METRICS[metric][0].removesuffix(' (log scale)')}, generation {generation}", fontsize=10)
        axes.grid(alpha=0.3)
        axes.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2)  # below: no point hidden
        paths.append(_save(figure, pathlib.Path(directory) / f"sweep_{metric}.png"))
    return paths


def _number(value: float) -> str:
    return f"{value:.0f}" if abs(value) >= 1000 else f"{value:.4g}"


def generation_zero(results: dict[str, Any]) -> dict[str, Any]:
    """Generation 0's row: one model, shared by every chain."""
    chains = [*results["policies"].values(), *(c["rows"] for c in results["sweep"])]
    return chains[0][0]


def relative_change(rows: list[dict[str, Any]], metric: str) -> float:
    """The last generation's value relative to generation 0's (0.1 = 10% higher)."""
    first, last = rows[0][metric], rows[-1][metric]
    return (last - first) / first if first else 0.0


def seed_spread(results: dict[str, Any], metric: str = "rare_type_share") -> dict[str, Any] | None:
    """The replicated curated chain's last-generation ``metric`` over its seeds:
    ``{"real_fraction", "seeds", "values", "range", "std"}``, or None without replicates."""
    chains = results["replicates"]
    if not chains:
        return None
    values = [c["rows"][-1][metric] for c in chains]
    return {
        "real_fraction": chains[0]["real_fraction"], "seeds": [c["seed"] for c in chains], "values": values,
        "range": max(values) - min(values), "std": statistics.pstdev(values),
    }


# The acceptance checks: "levels off" allows this much movement of the rare-type share (2 points).
LEVEL_OFF = 0.02
# "replace loses over 90% of the rare-type share".
REPLACE_LOSS = 0.9


def _verdict(holds: bool) -> str:
    return "holds" if holds else "**falls short**"


def acceptance(results: dict[str, Any]) -> list[tuple[str, bool | None, str]]:
    """The issue's acceptance items on this run: (claim, holds, the numbers); holds is
    None when the run lacks what the item needs (a policy, the sweep, generations)."""
    config, policies = results["config"], results["policies"]
    last = config["generations"]
    items: list[tuple[str, bool | None, str]] = []

    claim = f"`replace` loses over {REPLACE_LOSS:.0%} of the rare-type share by generation {last}"
    if "replace" in policies:
        rows = policies["replace"]
        loss = -relative_change(rows, "rare_type_share")
        items.append((claim, loss > REPLACE_LOSS, f"{rows[0]['rare_type_share']:.3f} at generation 0, "
                      f"{rows[-1]['rare_type_share']:.3f} at generation {last}: {loss:.1%} lost"))
    else:
        items.append((claim, None, "the run has no `replace` policy"))

    claim = ("`curated` beats `uncurated` on rare types, distinct-2 and JS divergence at every generation >= 1, "
             "and on perplexity from generation 2")
    if "curated" in policies and "uncurated" in policies:
        failures, numbers = [], []
        for metric, first in (("rare_type_share", 1), ("distinct_2", 1), ("js_divergence", 1), ("perplexity", 2)):
            lost = lost_generations(policies["curated"], policies["uncurated"], metric, first)
            sign = 1 if METRICS[metric][1] else -1
            pairs = list(zip(policies["curated"], policies["uncurated"]))[first:]
            worst = min(pairs, key=lambda ab: (ab[0][metric] - ab[1][metric]) * sign)
            numbers.append(
                f"{metric}: " + (f"loses at generation(s) {', '.join(map(str, lost))}" if lost else "wins at every one")
                + f" (narrowest: generation {worst[0]['generation']}, {worst[0][metric]:.4g} vs {worst[1][metric]:.4g})"
            )
            failures += lost
        items.append((claim, not failures, "; ".join(numbers)))
    else:
        items.append((claim, None, "the run lacks `curated` or `uncurated`"))

    start = max(0, last - 2)
    claim = (f"`curated` (r = {config['min_real_fraction']:g}) levels off: its rare-type share moves by at most "
             f"{LEVEL_OFF * 100:.0f} points between generations {start} and {last}, while `uncurated` keeps falling")
    if "curated" in policies and "uncurated" in policies and last >= 2:
        curated = [r["rare_type_share"] for r in policies["curated"][start:]]
        uncurated = [r["rare_type_share"] for r in policies["uncurated"][start:]]
        moved = curated[-1] - curated[0]
        falling = all(b < a for a, b in zip(uncurated, uncurated[1:]))
        items.append((claim, abs(moved) <= LEVEL_OFF and falling, (
            f"curated {' -> '.join(f'{v:.3f}' for v in curated)} (moves {moved * 100:+.1f} points); uncurated "
            f"{' -> '.join(f'{v:.3f}' for v in uncurated)} "
            f"({'falls' if falling else 'does not fall'} at every generation, "
            f"{(uncurated[-1] - uncurated[0]) * 100:+.1f} points)"
        )))
    else:
        items.append((claim, None, "needs `curated`, `uncurated` and at least 2 generations"))

    spread = seed_spread(results)
    tolerance = spread["range"] if spread else 0.0
    claim = "the sweep is monotone in r for rare types, within the measured seed spread, for both provenance variants"
    if len({c["real_fraction"] for c in results["sweep"]}) >= 2:
        verdicts, numbers = [], []
        for provenance in ("crawl", "declared"):
            chains = [c for c in results["sweep"] if c["provenance"] == provenance]
            values = [c["rows"][-1]["rare_type_share"] for c in chains]
            steps = [b - a for a, b in zip(values, values[1:])]
            verdicts.append(all(step >= -tolerance for step in steps))
            strictly = "rising at every step" if all(step > 0 for step in steps) else "not rising at every step"
            numbers.append(f"{PROVENANCE_LABELS[provenance]}: " + ", ".join(
                f"r {c['real_fraction']:g} {v:.3f}" for c, v in zip(chains, values)) + f" ({strictly})")
        spread_text = (f"seed spread (range over seeds {', '.join(map(str, spread['seeds']))} at r = "
                       f"{spread['real_fraction']:g}, as crawled): {spread['range']:.3f}" if spread
                       else "no seed spread measured (tolerance 0)")
        items.append((claim, all(verdicts), "; ".join(numbers) + f"; {spread_text}"))
    else:
        items.append((claim, None, "the run has fewer than two real floors in its sweep"))
    return items


def summary_markdown(
    results: dict[str, Any], runtime_seconds: float | None = None, cpu_seconds: float | None = None
) -> str:
    """A table per generation and policy, the sweep, the seed spread, what the run shows
    and the acceptance checks, in numbers."""
    config, real = results["config"], results["real"]
    policies = {p: results["policies"][p] for p in config["policies"]}  # the run's order, not results.json's
    lines = [
        "# Model-collapse simulation",
        "",
        f"{config['order']}-gram models, sampling at temperature {config['temperature']}, "
        f"top_p {config['top_p']}, top_k {config['top_k']}; {config['generations']} generations after "
        f"generation 0; seed {config['seed']}. Real data: {real['train_docs']} training documents "
        f"({real['train_words']} words, {real['train_types']} word types, {real['rare_types']} of them rare: "
        f"at most {config['rare_max_count']} occurrences), {real['heldout_docs']} held-out documents."
        + (f" The curated real floor counts {floor_unit(results)}." if "curated" in policies or results["sweep"] else ""),
        "",
        "| gen | policy | perplexity | rare types | vocab coverage | distinct-2 | JS div. | train docs (real) "
        "| synthetic in training: docs / words |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    generations = range(config["generations"] + 1)
    for generation in generations:
        for policy, rows in policies.items():
            r = rows[generation]
            lines.append(
                f"| {generation} | {policy} | {r['perplexity']:.1f} | {r['rare_type_share']:.3f} | "
                f"{r['vocab_coverage']:.3f} | {r['distinct_2']:.3f} | {r['js_divergence']:.4f} | "
                f"{r['train_docs']} ({r['train_real_docs']}) | {r['train_synthetic_share']:.0%} / "
                f"{r['train_synthetic_word_share']:.0%} |"
            )
            if generation == 0:
                break  # generation 0 is one model shared by every policy
    lines += ["", "## What the run shows", ""]
    for policy, rows in policies.items():
        lines.append(
            f"- **{policy}**, generation {config['generations']} vs 0: perplexity "
            f"{relative_change(rows, 'perplexity'):+.1%}, rare types {relative_change(rows, 'rare_type_share'):+.1%}, "
            f"vocabulary coverage {relative_change(rows, 'vocab_coverage'):+.1%}, distinct-2 "
            f"{relative_change(rows, 'distinct_2'):+.1%}, JS divergence {relative_change(rows, 'js_divergence'):+.1%}."
        )
    if "curated" in policies and "uncurated" in policies:
        lines += ["", comparison("curated", "uncurated", policies)]
    if "curated" in policies:
        lines += ["", curated_drift(policies["curated"], results)]
    lines += sweep_markdown(results)
    lines += ["", "## Acceptance", ""]
    for claim, holds, numbers in acceptance(results):
        lines.append(f"- {claim}: {'not measured' if holds is None else _verdict(holds)}. {numbers}.")
    if runtime_seconds is not None:
        cpu = f", {cpu_seconds:.0f} s CPU (user + sys)" if cpu_seconds is not None else ""
        lines += ["", f"Runtime: {runtime_seconds:.0f} s wall{cpu}."]
    return "\n".join(lines) + "\n"


def sweep_markdown(results: dict[str, Any]) -> list[str]:
    """The sweep's table (last generation per real floor and provenance) and the seed spread."""
    if not results["sweep"]:
        return []
    config = results["config"]
    base = generation_zero(results)
    lines = [
        "", f"## The sweep: generation {config['generations']} against the curated real floor", "",
        f"The real floor counts {floor_unit(results)}. Every chain starts from the same generation 0 "
        f"(perplexity {base['perplexity']:.1f}, rare types {base['rare_type_share']:.3f}) and uses the same seeds.",
        "",
        "| r | provenance | perplexity | rare types | vocab coverage | distinct-2 | JS div. | train docs (real) "
        "| synthetic in training: docs / words |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for chain in results["sweep"]:
        r = chain["rows"][-1]
        provenance = crawl_label(results) if chain["provenance"] == "crawl" else PROVENANCE_LABELS["declared"]
        lines.append(
            f"| {chain['real_fraction']:g} | {provenance} | {r['perplexity']:.1f} "
            f"({relative_change(chain['rows'], 'perplexity'):+.1%}) | {r['rare_type_share']:.3f} "
            f"({relative_change(chain['rows'], 'rare_type_share'):+.1%}) | {r['vocab_coverage']:.3f} | "
            f"{r['distinct_2']:.3f} | {r['js_divergence']:.4f} | {r['train_docs']} ({r['train_real_docs']}) | "
            f"{r['train_synthetic_share']:.0%} / {r['train_synthetic_word_share']:.0%} |"
        )
    spread = seed_spread(results)
    if spread:
        perplexity = seed_spread(results, "perplexity")
        lines += ["", (
            f"Seed spread: the curated chain at r = {spread['real_fraction']:g}, as crawled, under chain seeds "
            f"{', '.join(map(str, spread['seeds']))} (generation 0 and the real split fixed) ends at rare types "
            f"{', '.join(f'{v:.3f}' for v in spread['values'])} (range {spread['range']:.3f}, standard deviation "
            f"{spread['std']:.3f}) and perplexity {', '.join(f'{v:.1f}' for v in perplexity['values'])} "
            f"(range {perplexity['range']:.1f})."
        )]
    return lines


def lost_generations(
    better: list[dict[str, Any]], worse: list[dict[str, Any]], metric: str, first: int = 1
) -> list[int]:
    """The generations from ``first`` on where ``better`` does not beat ``worse`` on ``metric`` (a tie is a loss)."""
    higher_is_better = METRICS[metric][1]
    return [
        a["generation"] for a, b in zip(better[first:], worse[first:])
        if a[metric] == b[metric] or (a[metric] > b[metric]) != higher_is_better
    ]


def comparison(better: str, worse: str, policies: dict[str, list[dict[str, Any]]]) -> str:
    """Generation by generation, on which metrics ``better`` beats ``worse``, and why not where it does not."""
    wins, losses = [], []
    for metric in METRICS:
        lost = lost_generations(policies[better], policies[worse], metric)
        a, b = policies[better][-1][metric], policies[worse][-1][metric]
        if lost:
            losses.append(f"{metric} at generation{'s' if len(lost) > 1 else ''} {', '.join(map(str, lost))} "
                          f"(last: {a:.4g} vs {b:.4g})")
        else:
            wins.append(f"{metric} (last: {a:.4g} vs {b:.4g})")
    text = f"{better} beats {worse} at every generation on: {', '.join(wins) or 'nothing'}."
    if losses:
        a, b = policies[better][-1], policies[worse][-1]
        text += (
            f" It does **not** beat it on: {'; '.join(losses)}. Their last training sets: {better} "
            f"{a['train_docs']} documents ({a['train_real_docs']} real, {a['train_synthetic_share']:.0%} synthetic), "
            f"{worse} {b['train_docs']} ({b['train_real_docs']} real, {b['train_synthetic_share']:.0%} synthetic): "
            f"{worse} keeps every real document, and a model knows only the words of the real documents it saw."
        )
    return text


# Above this relative change a policy is not "close to generation 0".
CLOSE = 0.05


def floor_unit(results: dict[str, Any]) -> str:
    """What the curated real floor counts (the curate job's --ratio-unit), in words."""
    return {"rows": "rows (documents)", "bytes": "text bytes"}[results.get("curate", {}).get("ratio_unit", "rows")]


def curated_drift(rows: list[dict[str, Any]], results: dict[str, Any]) -> str:
    """Whether the curated chain stays close to generation 0, and what its training data held."""
    config, real = results["config"], results["real"]
    curate = results.get("curate", {})
    min_real_fraction = curate.get("min_real_fraction", 0.8)
    perplexity, rare = relative_change(rows, "perplexity"), relative_change(rows, "rare_type_share")
    last = rows[-1]
    close = abs(perplexity) <= CLOSE and abs(rare) <= CLOSE
    text = (
        f"Curated {'stays' if close else 'does **not** stay'} within {CLOSE:.0%} of generation 0 on perplexity "
        f"({perplexity:+.1%}) and rare types ({rare:+.1%})."
    )
    if not close:
        documents, words = last["train_synthetic_share"], last["train_synthetic_word_share"]
        if curate.get("ratio_unit", "rows") == "rows":
            leak = ""
            if documents > 1 - min_real_fraction + 1e-9:  # 1 - 0.8 is 0.19999999999999996
                leak = "; the detector let some synthetic documents through as real"
            text += (
                f" Its last training set was {documents:.0%} synthetic by documents (the real floor allows "
                f"{1 - min_real_fraction:.0%}{leak}) and {words:.0%} by words, all written by the curated chain's own "
                "earlier models."
            )
            if words > documents:
                text += " The floor counts documents, and the synthetic documents kept are longer than the real ones."
        else:  # the job's label decides the bytes it counts; words are what the model learns from
            text += (
                f" Its last training set was {words:.0%} synthetic by words and {documents:.0%} by documents (the "
                f"real floor allows {1 - min_real_fraction:.0%} of the text bytes), all written by the curated "
                "chain's own earlier models."
            )
        if config["temperature"] < 1 or config["top_p"] is not None or config["top_k"] is not None:
            text += (
                " Sampled with truncation, that text over-weights frequent words, so each model cuts more rare words "
                "out of what it samples."
            )
        text += (
            " Re-counting word sequences the model already knows also takes probability from the unseen word pairs "
            "and words that held-out text needs, which raises perplexity."
        )
        if last["train_real_docs"] < real["train_docs"]:
            origin_rule = "counted as synthetic"
            if curate.get("detector"):
                origin_rule = (
                    "decided by a detector trained on the declared ones, calibrated so that only a small share of "
                    "synthetic documents pass as real, which labels some real documents synthetic too"
                )
            text += (
                f" And only {last['train_real_docs']} of the {real['train_docs']} real training documents were kept: "
                f"undeclared records ({config['undeclared_share']:.0%} of the crawl) are {origin_rule}, and what is "
                f"labelled synthetic competes for the synthetic quota. Words found only in the dropped documents are "
                f"unknown to the model (vocabulary coverage {last['vocab_coverage']:.3f})."
            )
    if len(rows) > 2:
        step = (last["perplexity"] - rows[-2]["perplexity"]) / rows[-2]["perplexity"]
        text += f" The last generation moved its perplexity by {step:+.1%}"
        text += " (the drift is levelling off)." if abs(step) < abs(perplexity) / (len(rows) - 1) else "."
    return text
