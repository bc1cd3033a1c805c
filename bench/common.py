"""Helpers shared by the benchmarks: generated corpora, timing, result files, tables.

Benchmarks report ratios against a baseline run side by side in the same process
and machine, so the numbers mean something on any machine.
"""

from __future__ import annotations

import json
import os
import platform
import random
import resource
import time
from typing import Any, Callable, Iterable, Sequence

RESULTS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")

# A Zipfian vocabulary gives word statistics close enough to natural text for
# tokenising, hashing and compression costs.
_SYLLABLES = ["ka", "to", "ri", "mo", "sen", "la", "vi", "dor", "pe", "ul", "qua", "ne", "zi", "bar", "tho", "em"]


def zipf_vocabulary(size: int, rng: random.Random) -> list[str]:
    words = set()
    while len(words) < size:
        words.add("".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(1, 4))))
    return sorted(words)


def synthetic_documents(n: int, words_per_doc: int, seed: int = 0, vocabulary: int = 20_000) -> list[str]:
    """``n`` documents of about ``words_per_doc`` Zipf-distributed words (deterministic)."""
    rng = random.Random(seed)
    vocab = zipf_vocabulary(vocabulary, rng)
    weights = [1.0 / (rank + 1) for rank in range(len(vocab))]
    docs = []
    for _ in range(n):
        length = max(5, int(rng.gauss(words_per_doc, words_per_doc / 4)))
        words = rng.choices(vocab, weights=weights, k=length)
        sentences = [" ".join(words[i : i + 12]).capitalize() + "." for i in range(0, len(words), 12)]
        docs.append(" ".join(sentences))
    return docs


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def peak_rss_mib(children: bool = False) -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF)
    return usage.ru_maxrss / 1024.0


def write_results(name: str, results: dict) -> str:
    os.makedirs(RESULTS_DIR, exist_ok=True)
    path = os.path.join(RESULTS_DIR, f"{name}.json")
    payload = {
        "benchmark": name,
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "results": results,
    }
    with open(path, "w") as f:
        json.dump(payload, f, indent=2, sort_keys=True)
    return path


def print_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    rows = [[f"{v:.3f}" if isinstance(v, float) else str(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths)))
