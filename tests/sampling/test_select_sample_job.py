"""Sampling through the curate job on heavily skewed user strata (issue acceptance).

The 10,000-document scale is covered without Beam (tests/sampling/test_selection.py);
this corpus is small so the job's wiring is checked in seconds.
"""

import json
import subprocess
import sys
from fractions import Fraction

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from curation.hashing import seeded_hash64
from curation.sampling import tail_metrics
from curation.sampling.allocation import unimax_cap
from curation.sampling.options import SampleOptions
from curation.shards import ShardTargets
from curation.sampling.selection import GroupSize, plan_selection
from pipelines import curate

STRATA = {"s0": 1000, "s1": 400, "s2": 150, "s3": 60, "s4": 25, "s5": 12, "s6": 8, "s7": 5}
VOCABULARIES = [["river", "stone", "boat", "fish"], ["court", "judge", "law", "claim"], ["star", "orbit", "moon", "light"]]
REPO = __file__.rsplit("/tests/", 1)[0]


def _write_corpus(path):
    with open(path, "w") as f:
        for k, (stratum, size) in enumerate(STRATA.items()):
            for i in range(size):
                origin = "human" if i % 2 else "ai"
                words = VOCABULARIES[(i + k) % 3]
                length = 4 + (i * 37 % 7) ** 3  # 4 to 220 words: several length buckets
                text = f"{stratum} document {i}: " + " ".join(words[(i * j) % 4] for j in range(length))
                f.write(json.dumps({"id": f"{stratum}-{i}", "text": text, "genre": stratum, "origin": origin}) + "\n")


def _args(corpus, out, *extra):
    return [
        "--input", str(corpus), "--output", str(out), "--origin-field", "origin",
        "--origin-values", "human=real,ai=synthetic", "--no-exact-dedup", "--no-near-dedup",
        "--strata-fields", "genre", "--topics", "3", "--min-real-fraction", "0.8", "--sample-fraction", "0.3",
        "--shard-rows", "100", "--seed", "11", *extra,
    ]


@pytest.fixture(scope="module")
def skewed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("skewed")
    _write_corpus(tmp / "corpus.jsonl")
    manifest = curate.run(_args(tmp / "corpus.jsonl", tmp / "a"))
    return tmp, manifest


def _shards(out, manifest):
    shards = manifest["tables"]["data"]["shards"]
    return [pq.read_table(out / s["path"], columns=["origin", "text"]).to_pylist() for s in shards]


def test_every_shard_meets_the_floor_and_the_total_is_the_budget(skewed):
    tmp, manifest = skewed
    budget = int(0.3 * sum(STRATA.values()))
    shards = _shards(tmp / "a", manifest)
    assert sum(len(rows) for rows in shards) == budget
    assert len(shards) == -(-budget // 100)
    for rows in shards:
        real = sum(1 for r in rows if r["origin"] == "real")
        assert real >= 0.8 * len(rows)
        assert real - 0.8 * len(rows) < 1  # at the floor, up to one document of rounding
    sizes = [len(rows) for rows in shards]
    assert max(sizes) - min(sizes) <= 1


def test_user_strata_under_the_cap_are_kept_whole_for_both_origins(skewed):
    tmp, manifest = skewed
    data = ds.dataset(tmp / "a" / "data").to_table(columns=["metadata", "origin", "stratum"]).to_pylist()
    assert len({r["stratum"] for r in data}) > 3 * len(STRATA)  # length and topic refine every genre
    user_strata = manifest["sampling"]["user_strata"]
    assert set(user_strata) == {f"genre={s}" for s in STRATA}
    for origin in ("real", "synthetic"):
        sizes = {u: row[f"in_{origin}"] for u, row in user_strata.items()}
        cap = unimax_cap(sizes, sum(row[f"out_{origin}"] for row in user_strata.values()))
        whole = [u for u, n in sizes.items() if n <= cap]
        assert len(whole) >= 4, (origin, cap)  # the four rarest at least, also on the scarce synthetic side
        for u, n in sizes.items():
            out = sum(1 for r in data if f"genre={json.loads(r['metadata'])['genre']}" == u and r["origin"] == origin)
            assert out == user_strata[u][f"out_{origin}"]
            if u in whole:
                assert out == n, (origin, u, n, cap)
    tail = manifest["sampling"]["tail"]
    assert tail["user_strata"]["rarest_decile_kept_share"] == 1.0
    assert tail["cells"]["strata_in"] == len(manifest["sampling"]["strata"])
    assert manifest["accounting"]["balanced"]
    assert manifest["accounting"]["not_selected"] == sum(STRATA.values()) - len(data)


def test_same_seed_same_shards(skewed):
    tmp, manifest = skewed
    again = curate.run(_args(tmp / "corpus.jsonl", tmp / "b"))
    for shard in manifest["tables"]["data"]["shards"]:
        assert (tmp / "a" / shard["path"]).read_bytes() == (tmp / "b" / shard["path"]).read_bytes()
    assert again["tables"]["data"] == manifest["tables"]["data"]
    assert again["sampling"] == manifest["sampling"]


def test_in_bytes_every_shard_meets_the_floor_on_its_text(skewed, tmp_path):
    tmp, rows_manifest = skewed
    manifest = curate.run(_args(tmp / "corpus.jsonl", tmp_path / "bytes", "--ratio-unit", "bytes", "--shard-bytes", "20000"))
    sampling = manifest["sampling"]
    assert sampling["ratio_unit"] == "bytes"
    # The budget is 30% of the candidates' text; each group's quota is met to within one
    # document, real at or above it and synthetic at or below it.
    planned, selected = sampling["planned"], sampling["selected_text_bytes"]
    assert planned["real"] + planned["synthetic"] <= int(0.3 * sum(sampling["candidate_text_bytes"].values()))
    assert selected["real"] >= planned["real"] and selected["synthetic"] <= planned["synthetic"]
    shards = _shards(tmp_path / "bytes", manifest)
    assert len(shards) >= 3
    for rows, info in zip(shards, manifest["tables"]["data"]["shards"]):
        text = {o: sum(len(r["text"].encode()) for r in rows if r["origin"] == o) for o in ("real", "synthetic")}
        assert text["real"] >= Fraction(8, 10) * sum(text.values()), info["name"]
        assert info["class_text_bytes"] == {o: n for o, n in text.items() if n}
        assert info["classes"] == {o: sum(1 for r in rows if r["origin"] == o) for o in ("real", "synthetic")}
    assert sampling["real_share"]["text"] >= 0.8
    _assert_cells_within_one_document(tmp / "corpus.jsonl", tmp_path / "bytes", manifest)
    # The row floor would have let the longer synthetic documents take more of the text.
    assert rows_manifest["sampling"]["real_share"]["text"] < sampling["real_share"]["text"]


def _assert_cells_within_one_document(corpus, out, manifest):
    """Every (stratum, origin) cell holds its byte floor (the longest prefix of its
    seeded-hash order within its quota), or that and the next record."""
    texts = {(d := json.loads(line))["id"]: len(d["text"].encode()) for line in open(corpus)}
    columns = ["id", "origin", "stratum"]
    kept = ds.dataset(out / "data").to_table(columns=columns).to_pylist()
    left = ds.dataset(out / "not_selected").to_table(columns=columns).to_pylist()
    cells: dict = {}
    for row, selected in [(r, True) for r in kept] + [(r, False) for r in left]:
        key = (seeded_hash64(row["id"], 11, "select"), row["id"])
        cells.setdefault((row["stratum"], row["origin"]), []).append((key, texts[row["id"]], selected))
    groups = {g: GroupSize(len(items), sum(w for _, w, _ in items), max(w for _, w, _ in items)) for g, items in cells.items()}
    options = SampleOptions(strata_fields=("genre",), topics=3, min_real_fraction=0.8, sample_fraction=0.3,
                            seed=11, ratio_unit="bytes", shards=ShardTargets(text_bytes=20000))
    quotas = plan_selection(groups, options)["quotas"]
    assert sum(quotas.values()) == sum(manifest["sampling"]["planned"].values())
    for group, items in cells.items():
        items.sort()
        taken = sum(selected for _, _, selected in items)
        assert all(selected for _, _, selected in items[:taken]), group  # a prefix in seeded-hash order
        floor = 0
        while floor < len(items) and sum(w for _, w, _ in items[: floor + 1]) <= quotas[group]:
            floor += 1
        assert taken in (floor, floor + 1), (group, quotas[group], taken, floor)


def test_impossible_request_fails_early_with_a_clear_message(skewed, tmp_path):
    tmp, _ = skewed
    args = _args(tmp / "corpus.jsonl", tmp_path / "out")
    args[args.index("--sample-fraction"):args.index("--sample-fraction") + 2] = ["--sample-size", "1600"]
    done = subprocess.run([sys.executable, "-m", "pipelines.curate", *args], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 2
    assert "real" in done.stderr and "1600" in done.stderr
    assert list((tmp_path / "out").iterdir()) == []  # nothing written, nothing left behind
    # In bytes: the corpus holds about 730,000 bytes of text, half of it real, so 600,000
    # cannot be 80% real; the message says how much can.
    args[args.index("--sample-size") + 1] = "600000"
    done = subprocess.run(
        [sys.executable, "-m", "pipelines.curate", *args, "--ratio-unit", "bytes"], cwd=REPO, capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "asked for exactly 600000 bytes of text with at least 0.8 real" in done.stderr and "at most" in done.stderr
    assert list((tmp_path / "out").iterdir()) == []


def test_undecided_origin_is_an_error_unless_assumed(tmp_path):
    corpus = tmp_path / "c.jsonl"
    corpus.write_text("".join(json.dumps({"id": i, "text": f"text number {i}"}) + "\n" for i in range(20)))
    args = ["--input", str(corpus), "--no-exact-dedup", "--no-near-dedup", "--topics", "0", "--min-real-fraction", "0.5"]
    done = subprocess.run(
        [sys.executable, "-m", "pipelines.curate", *args, "--output", str(tmp_path / "o1")],
        cwd=REPO, capture_output=True, text=True,
    )
    assert done.returncode == 2 and "--assume-origin" in done.stderr
    manifest = curate.run([*args, "--output", str(tmp_path / "o2"), "--assume-origin", "real"])
    assert manifest["accounting"]["output"] == 20


def test_rare_vocabulary_coverage_is_the_one_the_texts_give(skewed):
    # The job counts the input's words while stratifying (one tokenisation per text): the same figure.
    tmp, manifest = skewed
    texts_in = [json.loads(line)["text"] for line in open(tmp / "corpus.jsonl")]
    texts_out = [row["text"] for shard in _shards(tmp / "a", manifest) for row in shard]
    expected = tail_metrics.rare_vocabulary_coverage(
        tail_metrics.merge_counts(map(tail_metrics.word_counts, texts_in)),
        tail_metrics.merge_counts(map(tail_metrics.word_counts, texts_out)),
    )
    assert 0 < expected < 1
    assert manifest["sampling"]["tail"]["rare_vocabulary_coverage"] == pytest.approx(expected)
