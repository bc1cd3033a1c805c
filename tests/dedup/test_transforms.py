"""ExactDedup / NearDedup in Beam pipelines (FnApiRunner)."""

import dataclasses
import json
import pathlib
import random

import apache_beam as beam
import numpy as np
import pytest
from apache_beam.metrics.metric import MetricsFilter
from apache_beam.testing.util import assert_that, equal_to

from curation.dedup.minhash import exact_jaccard
from curation.dedup.normalize import normalize_text
from curation.dedup.options import ExactDedupOptions, NearDedupOptions
from curation.dedup.shingles import shingle_hashes
from curation.dedup.transforms import DedupResult, ExactDedup, NearDedup, NearDedupResult
from curation.schema import DUPLICATE_SCHEMA, RECORD_SCHEMA, to_table
from tests.dedup.corpora import VOCABULARY, corpus_for_determinism, make_record, window_docs, words


def run(make_pipeline, tmp_path: pathlib.Path, transform, records, **pipeline_options):
    """Runs transform; returns (survivors, duplicates, kept-unverified ids) read back from JSON
    files (no ids for ExactDedup, which has no such output).

    Files rather than assert_that callbacks, so multi-process workers work too.
    """
    out_dir = tmp_path / f"out{len(list(tmp_path.iterdir()))}"
    names = ("survivors", "duplicates", "unverified")
    with make_pipeline(**pipeline_options) as pipeline:
        outputs = pipeline | beam.Create(records) | transform
        for name, pcoll in zip(names, outputs):
            _ = (pcoll | f"Json{name}" >> beam.Map(json.dumps, sort_keys=True)
                 | f"Write{name}" >> beam.io.WriteToText(str(out_dir / name)))
    def read(name):
        return [json.loads(line) for f in sorted(out_dir.glob(f"{name}*"))
                             for line in f.read_text().splitlines()]
    survivors, duplicates, unverified = map(read, names)
    # Nothing is lost, nothing doubled, and both tables have exactly their schema.
    assert sorted(r["id"] for r in survivors + duplicates) == sorted(r["id"] for r in records)
    to_table(survivors, RECORD_SCHEMA)
    to_table(duplicates, DUPLICATE_SCHEMA)
    assert all(set(d) == set(DUPLICATE_SCHEMA.names) for d in duplicates)
    assert set(unverified) <= {r["id"] for r in survivors}
    if isinstance(transform, NearDedup):  # the guarantee: never removed below the threshold
        assert all(d["similarity"] >= transform._options.threshold for d in duplicates)
    return survivors, duplicates, unverified


def by_id(rows):
    return {row["id"]: row for row in rows}


# --- exact ---------------------------------------------------------------------------


def test_exact_dedup_normalises_and_keeps_one_by_policy(make_pipeline, tmp_path):
    records = [
        make_record("a", "Hello, world!", None),
        make_record("b", "hello world", "synthetic"),
        make_record("c", "HELLO   WORLD.", "real"),
        make_record("d", "something else"),
        make_record("e", "!!!"), make_record("f", "..."),  # both empty after normalisation
    ]
    survivors, duplicates, _ = run(make_pipeline, tmp_path, ExactDedup(ExactDedupOptions()), records)
    kept = by_id(survivors)
    assert set(kept) == {"c", "d", "e"}
    assert kept["c"]["cluster_id"] == "exact:c" and kept["c"]["cluster_size"] == 3
    assert kept["d"]["cluster_id"] is None and kept["d"]["cluster_size"] == 1
    removed = by_id(duplicates)
    assert removed["a"]["duplicate_of"] == "c" and removed["a"]["kind"] == "exact"
    assert removed["a"]["similarity"] == 1.0 and removed["a"]["run_id"] == "run-1"
    assert removed["f"]["duplicate_of"] == "e"


# --- near ----------------------------------------------------------------------------


def jaccard(text_a, text_b):
    sets = [np.unique(shingle_hashes(normalize_text(t), 5)) for t in (text_a, text_b)]
    return exact_jaccard(*sets)


NEAR = NearDedupOptions()


def test_chain_end_unlike_the_survivor_is_kept_or_removed_against_one_it_matches(make_pipeline, tmp_path):
    chain = window_docs("chain", 1, [0, 16, 32])  # A~B, B~C, but A and C are not alike
    a, b, c = (r["text"] for r in chain)
    assert jaccard(a, b) > 0.84 and jaccard(b, c) > 0.84 and jaccard(a, c) < 0.75
    chain[0]["declared_origin"] = "real"  # the policy's first criterion: A survives
    others = [make_record(f"solo{i}", " ".join(words(100 + i, 150))) for i in range(5)]
    short = [make_record("short1", "just three words"), make_record("short2", "Just three, words!"),
             make_record("short3", "three words just")]
    for options in (NEAR, NearDedupOptions(verification="signature")):
        survivors, duplicates, unverified = run(make_pipeline, tmp_path, NearDedup(options), chain + others + short)
        texts = {r["id"]: r["text"] for r in chain}
        near_chain = [d for d in duplicates if d["id"] in texts]
        assert {d["id"]: d["duplicate_of"] for d in near_chain} == {"chain1": "chain0"}
        assert all(jaccard(texts[d["id"]], texts[d["duplicate_of"]]) >= 0.8 for d in near_chain)
        kept = by_id(survivors)
        assert "chain2" in kept and kept["chain2"]["cluster_id"] is None  # checked against chain0: unlike it
        assert kept["chain0"]["cluster_size"] == 2 and kept["chain0"]["cluster_id"] == "near:chain0"
        assert {d["id"]: d["duplicate_of"] for d in duplicates if d["id"].startswith("short")} == {"short1": "short2"}
        assert kept["short3"]["cluster_size"] == 1  # same words, other order: a different shingle
        assert {d["kind"] for d in duplicates} == {"near"} and unverified == []


def test_a_long_chain_in_id_order_ends_within_the_rounds_and_loses_nothing(make_pipeline, tmp_path):
    # 200 windows 12 words apart: J 0.885 to the next one, 0.78 to the one after (exact verification).
    rng = random.Random(2)
    base = [f"v{rng.randrange(10_000):04d}" for _ in range(12 * 200 + 200)]  # one length: ids break ties
    chain = [make_record(f"L{k:03d}", " ".join(base[12 * k:12 * k + 200]), index=k) for k in range(200)]
    options = NearDedupOptions(verification="shingles", survivor_rounds=3)
    survivors, duplicates, unverified = run(make_pipeline, tmp_path, NearDedup(options), chain)
    # Three rounds, each keeping the smallest id left and removing its neighbour: the rest stays.
    assert sorted(d["id"] for d in duplicates) == ["L001", "L003", "L005"]
    assert sorted(unverified) == [f"L{k:03d}" for k in range(6, 200)]


def large_clusters() -> list[dict]:
    base = words(7, 300)
    rng = random.Random(8)
    copies = []
    for i in range(300):  # 2 of 300 words changed: Jaccard ~0.93 to base, ~0.87 between copies
        text = list(base)
        for position in rng.sample(range(300), 2):
            text[position] = rng.choice(VOCABULARY)
        copies.append(make_record(f"copy{i:03d}", " ".join(text), index=i))
    copies.append(make_record("copyreal", " ".join(base), "real"))
    # A second family one component with the first, through a bridge, but unlike copyreal
    # (J ~0.66): it fails the first round and is removed against its own survivor in the second.
    changed = {position: rng.choice(VOCABULARY) for position in range(10, 300, 29)}  # 10 words, apart
    second = [changed.get(position, word) for position, word in enumerate(base)]
    bridge = [changed[p] if p in changed and p < 150 else word for p, word in enumerate(base)]  # 5 of them
    copies += [make_record("second", " ".join(second), "real"), make_record("bridge", " ".join(bridge))]
    for i in range(100):
        text = list(second)
        for position in rng.sample(range(300), 2):
            text[position] = rng.choice(VOCABULARY)
        copies.append(make_record(f"second{i:03d}", " ".join(text), index=i))
    empties = [make_record(f"empty{i:03d}", "?!" * (i % 3 + 1)) for i in range(400)]
    identical = [make_record(f"same{i:03d}", "click here to subscribe to our newsletter today")
                 for i in range(400)]
    return copies + empties + identical


def test_near_dedup_large_cluster_and_hot_buckets(make_pipeline, tmp_path):
    survivors, duplicates, _ = run(make_pipeline, tmp_path, NearDedup(NEAR), large_clusters())
    kept = by_id(survivors)
    assert set(kept) == {"copyreal", "second", "empty002", "same000"}  # "?!?!?!" is the longest empty
    assert kept["copyreal"]["cluster_size"] == 302  # its copies and the bridge
    assert kept["second"]["cluster_size"] == 101
    assert kept["empty002"]["cluster_size"] == 400 and kept["same000"]["cluster_size"] == 400


@pytest.mark.parametrize("dedup", ["exact", "near"])
def test_clusters_larger_than_members_per_key_are_split_with_the_same_result(make_pipeline, tmp_path, dedup):
    def transform(members_per_key):
        if dedup == "exact":
            return ExactDedup(ExactDedupOptions(members_per_key=members_per_key))
        return NearDedup(dataclasses.replace(NEAR, members_per_key=members_per_key))

    records = large_clusters()
    whole = run(make_pipeline, tmp_path, transform(10_000), records)
    split = run(make_pipeline, tmp_path, transform(7), records)  # clusters of 400 on 58 keys (near: in each round)
    def canonical(result):
        return [sorted(map(json.dumps, rows)) for rows in result]
    assert canonical(split) == canonical(whole)
    assert max(r["cluster_size"] for r in split[0]) >= 400


def test_near_dedup_is_deterministic_across_runs_and_workers(make_pipeline, tmp_path):
    records = corpus_for_determinism()
    first = run(make_pipeline, tmp_path, NearDedup(NEAR), records)
    again = run(make_pipeline, tmp_path, NearDedup(NEAR), list(reversed(records)))
    two_workers = run(make_pipeline, tmp_path, NearDedup(NEAR), records,
                      direct_num_workers=2, direct_running_mode="multi_processing")
    few_shards = run(make_pipeline, tmp_path, NearDedup(dataclasses.replace(NEAR, band_shards=3)), records)
    def canonical(result):
        return [sorted(map(json.dumps, rows)) for rows in result]
    assert canonical(first) == canonical(again) == canonical(two_workers) == canonical(few_shards)
    assert len(first[1]) > 20  # the corpus really had duplicates


def test_windowed_input_fails_with_a_clear_error(make_pipeline):
    # Band entries leave each bundle in the global window: windowed records would never meet them.
    records = corpus_for_determinism()[:5]
    with pytest.raises(Exception, match="global window"):
        with make_pipeline() as pipeline:
            _ = (pipeline | beam.Create(records)
                 | beam.Map(lambda r: beam.window.TimestampedValue(r, 0))
                 | beam.WindowInto(beam.window.FixedWindows(60))
                 | NearDedup(NEAR))


def test_near_dedup_exact_verification_and_sizes_from_exact_stage(make_pipeline, tmp_path):
    records = window_docs("v", 5, [0, 10])
    records[0]["cluster_size"] = 3  # this record already absorbed two exact duplicates
    options = NearDedupOptions(verification="shingles")
    survivors, duplicates, _ = run(make_pipeline, tmp_path, NearDedup(options), records)
    assert by_id(survivors)["v0"]["cluster_size"] == 4
    expected = jaccard(records[0]["text"], records[1]["text"])
    assert by_id(duplicates)["v1"]["similarity"] == pytest.approx(expected)


def test_by_default_a_pair_just_below_the_threshold_is_kept_whatever_its_minhash_estimate(make_pipeline, tmp_path):
    # Exact Jaccard 56/72 = 0.778; the default 256-permutation estimate says 0.82 (test_core's NEAR_MISS).
    a = " ".join(f"w{i}" for i in range(68))
    b = " ".join([f"w{i}" for i in range(60)] + [f"x{i}" for i in range(8)])
    assert jaccard(a, b) == pytest.approx(56 / 72)
    survivors, duplicates, unverified = run(
        make_pipeline, tmp_path, NearDedup(NEAR), [make_record("a", a), make_record("b", b, index=1)])
    assert duplicates == [] and unverified == [] and len(survivors) == 2

def test_duplicate_ids_fail_loudly(make_pipeline, tmp_path):
    # Exact dedup can only be misled by one id twice in one cluster (which copy survives?).
    same_text = [make_record("a", "one text here"), make_record("a", "One text here!")]
    with pytest.raises(Exception, match="unique record ids"):
        run(make_pipeline, tmp_path, ExactDedup(), same_text)
    other_texts = [make_record("a", "one text here"), make_record("a", "another text")]
    with pytest.raises(Exception, match="unique record ids"):
        run(make_pipeline, tmp_path, NearDedup(NEAR), other_texts)


def test_components_too_unconverged_to_finish_on_one_worker_fail_loudly(make_pipeline, tmp_path):
    chain = window_docs("k", 9, [0, 8, 16, 24, 32, 40, 48, 56])  # leaves links between stars after one round
    with pytest.raises(Exception, match="max_unconverged_links"):
        run(make_pipeline, tmp_path, NearDedup(NearDedupOptions(component_rounds=1, max_unconverged_links=0)), chain)


@pytest.mark.parametrize("rounds", [0, 1, 3])
def test_any_number_of_distributed_component_rounds_gives_the_same_clusters(make_pipeline, tmp_path, rounds):
    # The in-memory finish takes whatever the distributed rounds leave, down to every edge (0 rounds).
    records = corpus_for_determinism()
    options = dataclasses.replace(NEAR, component_rounds=rounds)
    def canonical(result):
        return [sorted(map(json.dumps, rows)) for rows in result]
    assert canonical(run(make_pipeline, tmp_path, NearDedup(options), records)) == canonical(
        run(make_pipeline, tmp_path, NearDedup(NEAR), records))


def test_a_remainder_too_large_for_one_worker_is_kept_unverified(make_pipeline, tmp_path):
    # large_clusters' second family (101 members) fails the first round: over 50, it is not held in memory.
    options = dataclasses.replace(NEAR, max_members_in_memory=50)
    survivors, duplicates, unverified = run(make_pipeline, tmp_path, NearDedup(options), large_clusters())
    assert "second" in unverified and len(unverified) == 101
    assert not {d["id"] for d in duplicates} & set(unverified)
    assert by_id(survivors)["copyreal"]["cluster_size"] == 302


@pytest.mark.parametrize("verification", ["signature", "shingles"])
def test_short_texts_whose_shingle_hashes_collide_are_both_kept(make_pipeline, tmp_path, verification):
    # "w10639" and "w16645" have the same 32-bit shingle hash, hence the same MinHash signature.
    records = [make_record("a", "w10639"), make_record("b", "w16645"),
               make_record("c", "Hello there"), make_record("d", "hello, there!")]
    options = NearDedupOptions(verification=verification)
    survivors, duplicates, _ = run(make_pipeline, tmp_path, NearDedup(options), records)
    assert {d["id"]: (d["duplicate_of"], d["similarity"]) for d in duplicates} == {"c": ("d", 1.0)}  # the longer text survives


def test_one_shingle_texts_are_matched_by_their_text_without_lsh(make_pipeline):
    # Texts of at most ngram_size words: no signature, no band entries, no candidate pairs.
    records = [make_record(f"w{i}", f"word{i}") for i in range(50)]
    records += [make_record("h1", "Hello there"), make_record("h2", "hello, there!"), make_record("h3", "HELLO THERE")]
    pipeline = make_pipeline()
    outputs = pipeline | beam.Create(records) | NearDedup(NEAR)
    assert isinstance(outputs, NearDedupResult)
    removed = outputs.duplicates | beam.Map(lambda d: (d["id"], d["duplicate_of"], d["similarity"], d["kind"]))
    assert_that(removed, equal_to([("h1", "h2", 1.0, "near"), ("h3", "h2", 1.0, "near")]))
    survivors = outputs.documents | beam.Map(lambda r: (r["id"], r["cluster_id"], r["cluster_size"]))
    assert_that(survivors, equal_to([(f"w{i}", None, 1) for i in range(50)] + [("h2", "near:h2", 3)]), label="kept")
    result = pipeline.run()
    result.wait_until_finish()
    counters = result.metrics().query(MetricsFilter().with_namespace("curation.dedup"))["counters"]
    assert {c.key.metric.name: c.committed for c in counters if c.committed} == {"near_duplicate": 2}


def test_exact_dedup_returns_a_dedup_result_of_two_named_outputs(make_pipeline):
    outputs = make_pipeline() | beam.Create([make_record("a", "one text")]) | ExactDedup()
    assert isinstance(outputs, DedupResult) and DedupResult._fields == ("documents", "duplicates")
    assert NearDedupResult._fields == ("documents", "duplicates", "kept_unverified")
