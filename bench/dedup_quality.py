"""Near-dedup quality against brute-force exact Jaccard: precision, recall, S-curve.

Plants near-duplicates of generated documents at controlled edit levels (half
the families as chains, each copy an edit of the previous one), finds every
pair's exact shingle Jaccard (all pairs sharing a shingle, via an inverted
index; the rest are exactly 0), then runs the same pure functions NearDedup
calls (sketch, band keys, bucket candidates with verification, components,
survivor-verified rounds) in memory, and reports:

* both kept: share of pairs with Jaccard >= threshold + 0.05 where neither
  document is removed (target <= 1%)
* removals unlike their survivor: share of removed documents whose exact
  Jaccard to the survivor named in ``duplicate_of`` is below the threshold
  (target <= 1%) and below threshold - 0.1 (target <= 0.1%); beside it the
  same share had every member of a connected component gone against its
  survivor (what NearDedup did before survivor verification, and what peers do)
* recall: share of pairs with Jaccard >= threshold + 0.05 that end in one cluster
* false merges: share of pairs with Jaccard < threshold - 0.1 in one cluster,
  over all such pairs and over the "related" ones (same planted family)
* the LSH S-curve: measured candidate rate per Jaccard bin beside 1-(1-s^r)^b

``--margin-z Z`` (with ``--verification signature``) measures the alternative to
exact verification: the survivor check removes a member only when the estimate
reaches threshold + Z standard errors, sqrt(t(1-t)/num_perm), of the estimate.

    python -m bench.dedup_quality [--quick] [--num-perm 256] [--verification shingles|signature]
        [--survivor-rounds 4] [--margin-z 0]
"""

from __future__ import annotations

import argparse
import itertools
import math
import random
import time
from collections import defaultdict

import numpy as np

from bench.common import print_table, write_results
from curation.dedup.components import union_find_roots
from curation.dedup.minhash import band_keys
from curation.dedup.normalize import normalize_text
from curation.dedup.options import VERIFICATIONS, NearDedupOptions
from curation.dedup.shingles import shingle_hashes
from curation.dedup.sketch import candidate_pairs, signature_array, similarity, sketch_text
from curation.dedup.survivor import Member, survivor_rank, survivor_verified_decisions

BOILERPLATE = ("Subscribe to our newsletter for more stories like this one. "
               "All rights reserved. Terms of use and privacy policy apply.")
EDITS = ("insert", "delete", "boilerplate", "reorder", "truncate", "substitute")


class ZipfianWriter:
    """Real-looking word-level documents from a seeded vocabulary with Zipfian frequencies."""

    def __init__(self, seed: int, vocabulary_size: int = 20000) -> None:
        self._rng = np.random.default_rng(seed)
        letters = np.array(list("etaoinshrdlcumwfgypbvkjxqz"))
        lengths = self._rng.integers(2, 11, vocabulary_size)
        self.vocabulary = ["".join(self._rng.choice(letters, n)) for n in lengths]
        weights = 1.0 / np.arange(1, vocabulary_size + 1) ** 1.1
        self._p = weights / weights.sum()

    def words(self, count: int) -> list[str]:
        return [self.vocabulary[i] for i in self._rng.choice(len(self.vocabulary), count, p=self._p)]

    def document(self, count: int) -> str:
        """Sentences of 8-20 words, capitalised, with punctuation (normalisation has work)."""
        words, sentences = self.words(count), []
        while words:
            cut = int(self._rng.integers(8, 21))
            sentence, words = words[:cut], words[cut:]
            sentences.append(" ".join(sentence).capitalize() + self._rng.choice([".", ".", "!", "?", ";"]))
        return " ".join(sentences)


def near_copy(text: str, edit: str, level: float, writer: ZipfianWriter, rng: random.Random) -> str:
    """``text`` edited by one kind of edit; ``level`` (0-1) scales how much changes."""
    words = text.split()
    count = max(1, int(len(words) * level))
    if edit == "insert":
        for _ in range(count):
            words.insert(rng.randrange(len(words) + 1), writer.words(1)[0])
    elif edit == "delete":
        for _ in range(min(count, len(words) - 1)):
            del words[rng.randrange(len(words))]
    elif edit == "substitute":
        for position in rng.sample(range(len(words)), min(count, len(words))):
            words[position] = writer.words(1)[0]
    elif edit == "boilerplate":
        words = (BOILERPLATE.split() * (1 + int(level * 4))) + words
    elif edit == "reorder":  # move a block of the text elsewhere
        start = rng.randrange(len(words))
        block = words[start:start + count]
        del words[start:start + count]
        at = rng.randrange(len(words) + 1)
        words[at:at] = block
    elif edit == "truncate":
        words = words[: max(1, len(words) - count)]
    return " ".join(words)


def planted_corpus(docs: int, seed: int) -> tuple[list[str], list[int]]:
    """Texts and each text's family (the base document it derives from)."""
    writer, rng = ZipfianWriter(seed), random.Random(seed)
    texts, families = [], []
    family = 0
    while len(texts) < docs:
        base = writer.document(rng.randint(80, 600))
        texts.append(base)
        families.append(family)
        if rng.random() < 0.5:  # half the bases get 1-6 near copies, some copies of copies
            sources = [base]
            chain = rng.random() < 0.5  # half of those a chain: each copy a light edit of the last
            for _ in range(rng.randint(1, 6)):
                source = sources[-1] if chain else rng.choice(sources)
                level = rng.uniform(0.01, 0.06) if chain else rng.uniform(0.0, 0.3)
                copy = near_copy(source, rng.choice(EDITS), level, writer, rng)
                sources.append(copy)
                texts.append(copy)
                families.append(family)
        family += 1
    return texts[:docs], families[:docs]


def exact_pair_jaccards(texts: list[str], options: NearDedupOptions) -> dict[tuple[int, int], float]:
    """Exact Jaccard of every pair sharing at least one shingle (all others are 0)."""
    sets = [set(np.unique(shingle_hashes(normalize_text(t, options.normalization), options.ngram_size)).tolist())
            for t in texts]
    postings = defaultdict(list)
    for doc, shingle_set in enumerate(sets):
        for shingle in shingle_set:
            postings[shingle].append(doc)
    shared = defaultdict(int)
    for docs in postings.values():
        for pair in itertools.combinations(docs, 2):
            shared[pair] += 1
    return {(a, b): n / (len(sets[a]) + len(sets[b]) - n) for (a, b), n in shared.items()}


def run(docs: int, options: NearDedupOptions, seed: int, margin_z: float = 0.0) -> dict:
    texts, families = planted_corpus(docs, seed)
    started = time.perf_counter()
    truth = exact_pair_jaccards(texts, options)
    truth_seconds = time.perf_counter() - started

    bands, rows = options.bands_and_rows
    ids = [f"{i:06d}" for i in range(len(texts))]
    sketches = dict(zip(ids, (sketch_text(t, options) for t in texts)))
    entries = [(key, doc_id) for doc_id, sketch in sketches.items()
               for key in band_keys(signature_array(sketch), bands, rows)]
    buckets = defaultdict(list)
    for key, doc_id in entries:
        buckets[key].append(doc_id)
    candidates = set()
    for member_ids in buckets.values():
        candidates.update(itertools.combinations(sorted(member_ids), 2))
    verify = set(candidate_pairs([entries], options.all_pairs_bucket_limit))
    edges = {(a, b) for a, b in verify if similarity(sketches[a], sketches[b]) >= options.threshold}
    roots = union_find_roots(ids, edges)
    components = defaultdict(list)
    for doc_id, root in roots.items():
        components[root].append(doc_id)
    ranks = {doc_id: survivor_rank({"id": doc_id, "text": text}, options.survivor_policy)
             for doc_id, text in zip(ids, texts)}
    survivor_threshold = options.threshold + margin_z * math.sqrt(
        options.threshold * (1 - options.threshold) / options.num_perm)
    decisions, unverified = survivor_verified_decisions(
        ([Member(i, ranks[i], 1, sketches[i]) for i in members] for members in components.values()),
        "near", similarity, survivor_threshold, options.survivor_rounds)
    cluster_of = {doc_id: decisions[doc_id].survivor_id if doc_id in decisions else doc_id for doc_id in ids}
    removed = {doc_id: survivor for doc_id, survivor in cluster_of.items() if survivor != doc_id}
    # Before survivor verification: every component member but the best-ranked was removed against it.
    best_of_component = {root: min(members, key=ranks.__getitem__) for root, members in components.items()}
    removed_by_component = {doc_id: best_of_component[root] for doc_id, root in roots.items()
                            if best_of_component[root] != doc_id}

    def same_cluster(a: int, b: int) -> bool:
        return cluster_of[ids[a]] == cluster_of[ids[b]]

    def exact(a: str, b: str) -> float:
        return truth.get(tuple(sorted((int(a), int(b)))), 0.0)

    def unlike_survivor(removals: dict[str, str], below: float) -> float:
        return sum(exact(doc, survivor) < below for doc, survivor in removals.items()) / max(1, len(removals))

    high = [pair for pair, j in truth.items() if j >= options.threshold + 0.05]
    low_related = [pair for pair, j in truth.items()
                   if j < options.threshold - 0.1 and families[pair[0]] == families[pair[1]]]
    all_pairs = len(texts) * (len(texts) - 1) // 2
    low_total = all_pairs - sum(1 for j in truth.values() if j >= options.threshold - 0.1)
    merged_low = [p for p, j in truth.items() if j < options.threshold - 0.1 and same_cluster(*p)]
    # pairs with no shared shingle (Jaccard 0) merged through chains count too
    cluster_sizes = defaultdict(int)
    for survivor in cluster_of.values():
        cluster_sizes[survivor] += 1
    merged_pairs = sum(n * (n - 1) // 2 for n in cluster_sizes.values())
    merged_high_or_mid = sum(1 for p, j in truth.items() if j >= options.threshold - 0.1 and same_cluster(*p))
    merged_low_count = merged_pairs - merged_high_or_mid

    curve = []
    for lo in np.arange(0.5, 1.0, 0.05):
        in_bin = [p for p, j in truth.items() if lo <= j < lo + 0.05 or (lo >= 0.95 and j == 1.0)]
        if not in_bin:
            continue
        mid = lo + 0.025
        measured = sum((ids[a], ids[b]) in candidates for a, b in in_bin) / len(in_bin)
        curve.append({"jaccard_bin": f"[{lo:.2f},{lo + 0.05:.2f})", "pairs": len(in_bin),
                      "measured_candidate_rate": round(measured, 4),
                      "theory_at_mid": round(1 - (1 - mid ** rows) ** bands, 4),
                      "merged_rate": round(sum(same_cluster(*p) for p in in_bin) / len(in_bin), 4)})
    return {
        "docs": len(texts), "num_perm": options.num_perm, "bands": bands, "rows": rows,
        "threshold": options.threshold, "verification": options.verification,
        "survivor_rounds": options.survivor_rounds, "margin_z": margin_z,
        "survivor_threshold": round(survivor_threshold, 4),
        "pairs_high": len(high),
        "both_kept_share_of_high_pairs": round(
            sum(ids[a] not in removed and ids[b] not in removed for a, b in high) / max(1, len(high)), 5),
        "near_removed": len(removed),
        "removed_below_threshold_share": round(unlike_survivor(removed, options.threshold), 5),
        "removed_below_threshold_minus_0.1_share": round(unlike_survivor(removed, options.threshold - 0.1), 5),
        "kept_unverified": len(unverified),
        "component_removed": len(removed_by_component),
        "component_removed_below_threshold_share": round(unlike_survivor(removed_by_component, options.threshold), 5),
        "component_removed_below_threshold_minus_0.1_share": round(
            unlike_survivor(removed_by_component, options.threshold - 0.1), 5),
        "recall_high": round(sum(same_cluster(*p) for p in high) / max(1, len(high)), 5),
        "low_pairs_total": low_total, "low_pairs_merged": merged_low_count,
        "false_merge_rate_all_low_pairs": merged_low_count / max(1, low_total),
        "low_related_pairs": len(low_related),
        "false_merge_rate_related_low_pairs": round(
            sum(same_cluster(*p) for p in low_related) / max(1, len(low_related)), 5),
        "verified_edges_below_threshold_minus_0.1": sum(
            1 for a, b in edges if truth.get((int(a), int(b)), 0.0) < options.threshold - 0.1),
        "verified_edges": len(edges), "candidate_pairs": len(candidates),
        "ground_truth_seconds": round(truth_seconds, 2), "s_curve": curve,
        "merged_low_examples": len(merged_low),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small corpus (seconds)")
    parser.add_argument("--docs", type=int, default=None)
    parser.add_argument("--num-perm", type=int, default=NearDedupOptions.num_perm)
    parser.add_argument("--verification", default=NearDedupOptions.verification, choices=VERIFICATIONS)
    parser.add_argument("--survivor-rounds", type=int, default=NearDedupOptions.survivor_rounds)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--margin-z", type=float, default=0.0,
                        help="survivor check at threshold + Z standard errors of the signature estimate")
    args = parser.parse_args(argv)
    if args.margin_z and args.verification != "signature":
        parser.error("--margin-z is a margin on the signature estimate: use it with --verification signature")
    docs = args.docs or (600 if args.quick else 4000)
    options = NearDedupOptions(num_perm=args.num_perm, verification=args.verification,
                               survivor_rounds=args.survivor_rounds)
    result = run(docs, options, args.seed, args.margin_z)
    for key, value in result.items():
        if key != "s_curve":
            print(f"{key:45s} {value}")
    print()
    print_table(["jaccard", "pairs", "measured", "theory", "merged"],
                [[r["jaccard_bin"], r["pairs"], r["measured_candidate_rate"], r["theory_at_mid"],
                  r["merged_rate"]] for r in result["s_curve"]])
    margin = f"_z{args.margin_z:g}" if args.margin_z else ""
    name = f"dedup_quality_p{args.num_perm}_{args.verification}{margin}{'_quick' if args.quick else ''}"
    print(f"\nwrote {write_results(name, result)}")


if __name__ == "__main__":
    main()
