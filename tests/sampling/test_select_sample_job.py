"""Sampling through the curate job on heavily skewed strata (issue acceptance)."""

import json
import subprocess
import sys

import pyarrow.dataset as ds
import pytest

from curation.sampling.allocation import unimax_cap
from pipelines import curate

STRATA = {"s0": 10_000, "s1": 3_000, "s2": 1_000, "s3": 300, "s4": 100, "s5": 30, "s6": 10, "s7": 5}
REPO = __file__.rsplit("/tests/", 1)[0]


def _write_corpus(path):
    with open(path, "w") as f:
        for stratum, size in STRATA.items():
            for i in range(size):
                origin = "human" if i % 2 else "ai"
                text = f"{stratum} document {i} says {i * 7919 % 10007} about {i % 13} things"
                f.write(json.dumps({"id": f"{stratum}-{i}", "text": text, "genre": stratum, "origin": origin}) + "\n")


def _args(corpus, out, *extra):
    return [
        "--input", str(corpus), "--output", str(out), "--origin-field", "origin",
        "--origin-values", "human=real,ai=synthetic", "--no-exact-dedup", "--no-near-dedup",
        "--strata-fields", "genre", "--topics", "0", "--no-length-buckets",
        "--min-real-fraction", "0.8", "--sample-fraction", "0.3", "--shard-rows", "700", "--seed", "11", *extra,
    ]


@pytest.fixture(scope="module")
def skewed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("skewed")
    _write_corpus(tmp / "corpus.jsonl")
    manifest = curate.run(_args(tmp / "corpus.jsonl", tmp / "a"))
    return tmp, manifest


def test_every_shard_meets_the_floor_and_the_total_is_the_budget(skewed):
    tmp, manifest = skewed
    budget = int(0.3 * sum(STRATA.values()))
    data = ds.dataset(tmp / "a" / "data").to_table()
    assert data.num_rows == budget
    shards = manifest["tables"]["data"]["shards"]
    assert len(shards) == -(-budget // 700)
    for shard in shards:
        table = ds.dataset(tmp / "a" / shard["path"]).to_table()
        real = table.column("origin").to_pylist().count("real")
        assert real >= 0.8 * table.num_rows, shard
        assert real - 0.8 * table.num_rows < 1, shard  # at the floor, up to one document of rounding
    sizes = [s["rows"] for s in shards]
    assert max(sizes) - min(sizes) <= 1


def test_strata_under_the_cap_are_kept_whole(skewed):
    tmp, manifest = skewed
    data = ds.dataset(tmp / "a" / "data").to_table().to_pylist()
    strata = manifest["sampling"]["strata"]
    for origin in ("real", "synthetic"):
        sizes = {s: row.get(f"in_{origin}", 0) for s, row in strata.items()}
        cap = unimax_cap(sizes, sum(row.get(f"out_{origin}", 0) for row in strata.values()))
        for stratum, n in sizes.items():
            out = sum(1 for r in data if r["stratum"] == stratum and r["origin"] == origin)
            assert out == strata[stratum][f"out_{origin}"]
            if n <= cap:
                assert out == n, (origin, stratum, n, cap)
    assert manifest["sampling"]["tail"]["rarest_decile_kept_share"] == 1.0
    assert manifest["accounting"]["balanced"]
    assert manifest["accounting"]["not_selected"] == sum(STRATA.values()) - len(data)


def test_same_seed_same_shards(skewed):
    tmp, manifest = skewed
    again = curate.run(_args(tmp / "corpus.jsonl", tmp / "b"))
    for shard in manifest["tables"]["data"]["shards"]:
        assert (tmp / "a" / shard["path"]).read_bytes() == (tmp / "b" / shard["path"]).read_bytes()
    assert again["tables"]["data"] == manifest["tables"]["data"]


def test_impossible_request_fails_early_with_a_clear_message(skewed, tmp_path):
    tmp, _ = skewed
    args = _args(tmp / "corpus.jsonl", tmp_path / "out")
    args[args.index("--sample-fraction"):args.index("--sample-fraction") + 2] = ["--sample-size", "14000"]
    done = subprocess.run([sys.executable, "-m", "pipelines.curate", *args], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 2
    assert "real" in done.stderr and "14000" in done.stderr
    assert list((tmp_path / "out").iterdir()) == []  # nothing written, nothing left behind


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
