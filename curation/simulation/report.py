"""Plots (one metric per PNG) and the markdown summary of a simulation's results."""

from __future__ import annotations

import pathlib
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
        figure.tight_layout()
        path = pathlib.Path(directory) / f"{metric}.png"
        figure.savefig(path, dpi=100)
        plt.close(figure)
        paths.append(path)
    return paths


def relative_change(rows: list[dict[str, Any]], metric: str) -> float:
    """The last generation's value relative to generation 0's (0.1 = 10% higher)."""
    first, last = rows[0][metric], rows[-1][metric]
    return (last - first) / first if first else 0.0


def summary_markdown(results: dict[str, Any], runtime_seconds: float | None = None) -> str:
    """A table per generation and policy, then what the run shows, in numbers."""
    config, real = results["config"], results["real"]
    policies = {p: results["policies"][p] for p in config["policies"]}  # the run's order, not results.json's
    lines = [
        "# Model-collapse simulation",
        "",
        f"{config['order']}-gram models, sampling at temperature {config['temperature']}, "
        f"top_p {config['top_p']}, top_k {config['top_k']}; {config['generations']} generations after "
        f"generation 0; seed {config['seed']}. Real data: {real['train_docs']} training documents "
        f"({real['train_words']} words, {real['train_types']} word types, {real['rare_types']} of them rare: "
        f"at most {config['rare_max_count']} occurrences), {real['heldout_docs']} held-out documents.",
        "",
        "| gen | policy | perplexity | rare types | vocab coverage | distinct-2 | JS div. | train docs "
        "| synthetic in training |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    generations = range(config["generations"] + 1)
    for generation in generations:
        for policy, rows in policies.items():
            r = rows[generation]
            lines.append(
                f"| {generation} | {policy} | {r['perplexity']:.1f} | {r['rare_type_share']:.3f} | "
                f"{r['vocab_coverage']:.3f} | {r['distinct_2']:.3f} | {r['js_divergence']:.4f} | "
                f"{r['train_docs']} | {r['train_synthetic_share']:.0%} |"
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
    if runtime_seconds is not None:
        lines += ["", f"Runtime: {runtime_seconds:.0f} s."]
    return "\n".join(lines) + "\n"


def comparison(better: str, worse: str, policies: dict[str, list[dict[str, Any]]]) -> str:
    """Generation by generation, on which metrics ``better`` beats ``worse``, and why not where it does not."""
    wins, losses = [], []
    for metric, (_, higher_is_better) in METRICS.items():
        lost = [
            a["generation"]
            for a, b in zip(policies[better][1:], policies[worse][1:])
            if a[metric] == b[metric] or (a[metric] > b[metric]) != higher_is_better
        ]
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


def curated_drift(rows: list[dict[str, Any]], results: dict[str, Any]) -> str:
    """Whether the curated chain stays close to generation 0, and what its training data held."""
    config, real = results["config"], results["real"]
    curate = results.get("curate", {})
    min_real_fraction = curate.get("min_real_fraction", 0.8)
    origin_rule = "counted as synthetic"
    if curate.get("detector"):
        origin_rule = "decided by a detector trained on the declared ones"
    perplexity, rare = relative_change(rows, "perplexity"), relative_change(rows, "rare_type_share")
    last = rows[-1]
    close = abs(perplexity) <= CLOSE and abs(rare) <= CLOSE
    text = (
        f"Curated {'stays' if close else 'does **not** stay'} within {CLOSE:.0%} of generation 0 on perplexity "
        f"({perplexity:+.1%}) and rare types ({rare:+.1%})."
    )
    if not close:
        leak = ""
        if last["train_synthetic_share"] > 1 - min_real_fraction:
            leak = " of what the job counts as synthetic; the detector let some synthetic documents through as real"
        text += (
            f" Its last training set still held {last['train_synthetic_share']:.0%} synthetic documents (the real "
            f"floor allows up to {1 - min_real_fraction:.0%}{leak}), all written by the curated chain's own "
            f"earlier models, whose truncated samples over-weight frequent words: that extra head mass pushes more rare "
            f"words out of the next model's top-p set. Undeclared records ({config['undeclared_share']:.0%} of the "
            f"crawl) are {origin_rule}, and only {last['train_real_docs']} of the {real['train_docs']} real training "
            f"documents were kept: the real words found only in the others are unknown to the model (vocabulary "
            f"coverage {last['vocab_coverage']:.3f}), which costs perplexity."
        )
    if len(rows) > 2:
        step = (last["perplexity"] - rows[-2]["perplexity"]) / rows[-2]["perplexity"]
        text += f" The last generation moved its perplexity by {step:+.1%}"
        text += " (the drift is levelling off)." if abs(step) < abs(perplexity) / (len(rows) - 1) else "."
    return text
