"""Near dedup against a peer: our ``pipelines.curate`` (dedup only) vs datatrove's MinHash dedup.

    python -m bench.datatrove_compare [--quick] [--docs 4000] [--venv build/datatrove-venv]

Both get the same JSONL: :func:`bench.dedup_quality.planted_corpus` (near copies
planted in families at 0-30% edits). Both run with one worker and the same
LSH banding (our ``bands x rows``; datatrove's ``num_buckets x hashes_per_bucket``),
word 5-grams. Differences that remain: datatrove has no candidate verification
and its own text normalisation and hashing; we verify candidates at the
threshold. Each side runs as one process, timed wall clock (reading and writing
the survivors included), in the same run.

datatrove is not a dependency of this package: the script creates its own
virtual environment (``--venv``) with ``python -m venv`` and pip on first use.

Reported: removed ids of each, the Jaccard of the two removed-id sets (which
also counts differing survivor choices: datatrove keeps a cluster's first
document, we keep the best-ranked), the share of planted families where both
remove as many documents, and each against the planted families (survivor
choice does not matter there):
family recall = removals inside families / (family size - 1) summed; precision
= share of removals that belong to a planted family of two or more. And for
each, the share of removals whose exact Jaccard (our word-5-gram shingles) to
the document kept in their place is below the threshold and below threshold
- 0.1: ours names it in ``duplicates/duplicate_of``; datatrove keeps one
document per cluster, read back from its cluster ids (``save_cluster_id``).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import time
import venv

import pyarrow.dataset as ds

from bench.common import print_table, write_results
from bench.dedup_quality import planted_corpus
from curation.dedup.options import NearDedupOptions
from curation.dedup.sketch import exact_text_jaccard

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# datatrove's MinHash modules import these at load time; spacy is its English word
# tokenizer, orjson its JSONL reader's parser; xxhash 4 no longer hashes str, which
# datatrove 0.10 passes it.
DATATROVE_PACKAGES = ["datatrove==0.10.1", "regex", "xxhash<4", "tokenizers", "spacy", "orjson"]

# Runs inside the datatrove venv: signatures -> buckets -> clusters -> filter, one
# worker; the buckets stage needs one task per bucket (datatrove asserts it).
DATATROVE_JOB = r"""
import sys
from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup.minhash import (MinhashConfig, MinhashDedupBuckets, MinhashDedupCluster,
    MinhashDedupFilter, MinhashDedupSignature)
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter

corpus_dir, work, buckets, rows = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
config = MinhashConfig(n_grams=5, num_buckets=buckets, hashes_per_bucket=rows)
def run(steps, name, tasks=1):
    LocalPipelineExecutor(steps, tasks=tasks, workers=1, logging_dir=f"{work}/logs/{name}").run()
run([JsonlReader(corpus_dir, id_key="id"), MinhashDedupSignature(f"{work}/signatures", config=config)], "sig")
run([MinhashDedupBuckets(f"{work}/signatures", f"{work}/buckets", config=config)], "buckets", buckets)
run([MinhashDedupCluster(f"{work}/buckets", f"{work}/remove_ids", config=config, save_cluster_id=True)], "cluster")
run([JsonlReader(corpus_dir, id_key="id"),
     MinhashDedupFilter(f"{work}/remove_ids", load_cluster_ids=True,
                        exclusion_writer=JsonlWriter(f"{work}/removed", compression=None)),
     JsonlWriter(f"{work}/kept", compression=None)], "filter")
"""


def ensure_datatrove(venv_dir: str) -> str:
    """The venv's python, creating the venv and installing datatrove on first use."""
    python = os.path.join(venv_dir, "bin", "python")
    ready = os.path.exists(python) and not subprocess.run(
        [python, "-c", "import datatrove.pipeline.dedup.minhash"], capture_output=True
    ).returncode
    if not ready:
        venv.create(venv_dir, with_pip=True)
        subprocess.run([python, "-m", "pip", "install", "--quiet", *DATATROVE_PACKAGES], check=True)
    return python


def timed_process(command: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode:
        raise RuntimeError(f"{command[:3]} failed:\n{done.stderr[-3000:]}")
    return seconds


def removed_by_us(corpus: str, output: str, options: NearDedupOptions) -> tuple[float, dict[str, str]]:
    """Seconds and {removed id: the id kept in its place}."""
    seconds = timed_process([
        sys.executable, "-m", "pipelines.curate", "--input", corpus, "--output", output, "--no-exact-dedup",
        "--near-threshold", str(options.threshold), "--num-perm", str(options.num_perm), "--runner", "FnApiRunner",
    ])
    table = ds.dataset(os.path.join(output, "duplicates")).to_table(columns=["id", "duplicate_of"])
    return seconds, dict(zip(table.column("id").to_pylist(), table.column("duplicate_of").to_pylist()))


def _docs_with_cluster(folder: str) -> list[tuple[str, int]]:
    docs = []
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name)) as f:
            docs += [(d["id"], d["metadata"]["minhash_cluster_id"]) for d in map(json.loads, f)]
    return docs


def removed_by_datatrove(python: str, corpus_dir: str, work: str, options: NearDedupOptions) -> tuple[float, dict[str, str]]:
    """Seconds and {removed id: the id datatrove kept of its cluster}."""
    bands, rows = options.bands_and_rows
    seconds = timed_process([python, "-c", DATATROVE_JOB, corpus_dir, work, str(bands), str(rows)])
    kept_of_cluster = {cluster: doc for doc, cluster in _docs_with_cluster(os.path.join(work, "kept")) if cluster >= 0}
    return seconds, {doc: kept_of_cluster[cluster] for doc, cluster in _docs_with_cluster(os.path.join(work, "removed"))}


def unlike_kept(removed: dict[str, str], texts: list[str], options: NearDedupOptions) -> dict:
    """Shares of removals whose exact Jaccard to the document kept in their place is below the
    threshold and below threshold - 0.1 (ids are ``d<index>``)."""
    def text(doc_id):
        return texts[int(doc_id[1:])]
    jaccards = [exact_text_jaccard(text(doc), text(kept), options) for doc, kept in removed.items()]
    def share(below):
        return round(sum(j < below for j in jaccards) / max(1, len(jaccards)), 4)
    return {"removed_below_threshold_share": share(options.threshold),
            "removed_below_threshold_minus_0.1_share": share(options.threshold - 0.1)}


def against_families(removed: set[str], families: list[int]) -> dict:
    """Family recall and precision of a removed-id set (ids are ``d<index>``)."""
    size = collections.Counter(families)
    removed_per_family = collections.Counter(families[int(i[1:])] for i in removed)
    expected = sum(n - 1 for n in size.values())
    caught = sum(min(n, size[f] - 1) for f, n in removed_per_family.items())
    in_family = sum(n for f, n in removed_per_family.items() if size[f] > 1)
    return {"removed": len(removed), "family_recall": round(caught / max(1, expected), 4),
            "precision": round(in_family / max(1, len(removed)), 4), "planted_removals": expected}


def same_removals_per_family(ours: set[str], theirs: set[str], families: list[int]) -> float:
    """Share of planted families (two or more members) where both remove as many documents.

    Unlike the removed-id Jaccard, this does not depend on which member each keeps.
    """
    size = collections.Counter(families)
    count = {name: collections.Counter(families[int(i[1:])] for i in ids) for name, ids in (("ours", ours), ("theirs", theirs))}
    planted = [f for f, n in size.items() if n > 1]
    return sum(count["ours"][f] == count["theirs"][f] for f in planted) / max(1, len(planted))


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small corpus, for a smoke run")
    parser.add_argument("--docs", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--venv", default=os.path.join(REPO, "build", "datatrove-venv"),
                        help="datatrove's virtual environment (created when missing)")
    args = parser.parse_args(argv)
    docs = 600 if args.quick else args.docs
    options = NearDedupOptions()
    python = ensure_datatrove(args.venv)
    with tempfile.TemporaryDirectory(prefix="bench-datatrove-") as work:
        texts, families = planted_corpus(docs, args.seed)
        corpus_dir = os.path.join(work, "corpus")
        os.makedirs(corpus_dir)
        corpus = os.path.join(corpus_dir, "corpus.jsonl")
        with open(corpus, "w") as f:
            f.writelines(json.dumps({"id": f"d{i}", "text": t}) + "\n" for i, t in enumerate(texts))
        megabytes = os.path.getsize(corpus) / 1e6
        our_seconds, our_removals = removed_by_us(corpus, os.path.join(work, "ours"), options)
        their_seconds, their_removals = removed_by_datatrove(python, corpus_dir, os.path.join(work, "datatrove"), options)

    bands, rows = options.bands_and_rows
    ours, theirs = set(our_removals), set(their_removals)
    agreement = len(ours & theirs) / max(1, len(ours | theirs))
    results = {
        "documents": docs, "megabytes": round(megabytes, 3), "bands": bands, "rows": rows,
        "threshold": options.threshold, "num_perm": options.num_perm,
        "ours": {"seconds": round(our_seconds, 2), **against_families(ours, families),
                 **unlike_kept(our_removals, texts, options)},
        "datatrove": {"seconds": round(their_seconds, 2), **against_families(theirs, families),
                      **unlike_kept(their_removals, texts, options)},
        "time_ratio_ours_over_datatrove": round(our_seconds / their_seconds, 3),
        "removed_id_jaccard": round(agreement, 4),
        "same_removal_count_per_family": round(same_removals_per_family(ours, theirs, families), 4),
        "removed_by_both": len(ours & theirs), "only_ours": len(ours - theirs), "only_datatrove": len(theirs - ours),
    }
    print(f"near dedup of {docs} documents ({megabytes:.2f} MB), {bands} bands x {rows} rows, 1 worker each")
    t = options.threshold
    print_table(["tool", "seconds", "MB/s", "removed", "family recall", "precision",
                 f"J to kept < {t:g}", f"J to kept < {t - 0.1:g}"],
                [(name, results[key]["seconds"], megabytes / results[key]["seconds"], results[key]["removed"],
                  results[key]["family_recall"], results[key]["precision"],
                  results[key]["removed_below_threshold_share"], results[key]["removed_below_threshold_minus_0.1_share"])
                 for name, key in (("curation (Beam, FnApiRunner)", "ours"), ("datatrove", "datatrove"))])
    print(f"time ratio ours/datatrove: {results['time_ratio_ours_over_datatrove']:.2f}   "
          f"removed-id Jaccard: {agreement:.3f} (both {results['removed_by_both']}, only ours "
          f"{results['only_ours']}, only datatrove {results['only_datatrove']}); families where both remove "
          f"as many: {results['same_removal_count_per_family']:.3f}")
    print("results:", write_results("datatrove_compare_quick" if args.quick else "datatrove_compare", results))
    return results


if __name__ == "__main__":
    main()
