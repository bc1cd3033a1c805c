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
    perplexity, rare = relative_change(rows, "perplexity"), relative_change(rows, "rare_type_share")
    last = rows[-1]
    close = abs(perplexity) <= CLOSE and abs(rare) <= CLOSE
    text = (
        f"Curated {'stays' if close else 'does **not** stay'} within {CLOSE:.0%} of generation 0 on perplexity "
        f"({perplexity:+.1%}) and rare types ({rare:+.1%})."
    )
    if not close:
        leak = ""
        if last["train_synthetic_share"] > 1 - min_real_fraction + 1e-9:  # 1 - 0.8 is 0.19999999999999996
            leak = "; the detector let some synthetic documents through as real"
        text += (
            f" Its last training set was {last['train_synthetic_share']:.0%} synthetic by documents (the real floor "
            f"allows {1 - min_real_fraction:.0%}{leak}) and {last['train_synthetic_word_share']:.0%} by words, "
            f"all written by the curated chain's own earlier models."
        )
        if last["train_synthetic_word_share"] > last["train_synthetic_share"]:
            text += " The floor counts documents, and the synthetic documents kept are longer than the real ones."
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
                    "decided by a detector trained on the declared ones, whose threshold lets almost no synthetic "
                    "document pass as real and so labels real documents synthetic too"
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
