"""The generation loop and the job end to end, on a tiny corpus (small vocabulary, few documents)."""
import json
import random

import pytest

from curation.simulation import Policy, SimulationConfig, simulate, split_real
from curation.simulation.policies import Document
from pipelines import simulate_collapse

COMMON = ["the", "model", "reads", "a", "file", "and", "writes", "lines", "of", "text"]
RARE = [f"rare{i}" for i in range(40)]


def tiny_texts(n_docs=40, seed=0):
    rng = random.Random(seed)
    return [
        " ".join(rng.choice(COMMON) if rng.random() < 0.85 else rng.choice(RARE) for _ in range(rng.randint(20, 40)))
        for _ in range(n_docs)
    ]


def tiny_split():
    documents = [Document(f"d{i}", t, f"s{i % 3}", "real") for i, t in enumerate(tiny_texts())]
    return split_real(documents, 0.2, seed=0)


def test_replace_loses_rare_types_and_runs_are_reproducible():
    train, heldout = tiny_split()
    config = SimulationConfig(generations=2, policies=(Policy.REPLACE, Policy.UNCURATED), top_p=0.6)
    results = simulate(train, heldout, config)
    assert results == simulate(train, heldout, config)
    replace, uncurated = results["policies"]["replace"], results["policies"]["uncurated"]
    assert [r["generation"] for r in replace] == [0, 1, 2]
    assert replace[0] == uncurated[0]  # one shared generation 0
    assert replace[2]["rare_type_share"] < replace[0]["rare_type_share"]
    assert replace[2]["vocab_coverage"] < 1.0 == replace[0]["vocab_coverage"]
    assert replace[1]["train_synthetic_share"] == replace[1]["train_synthetic_word_share"] == 1.0
    assert replace[0]["train_synthetic_word_share"] == 0.0
    # The web keeps every real training document and adds synthetic ones.
    assert uncurated[2]["train_docs"] > uncurated[1]["train_docs"] > len(train)
    assert 0 < uncurated[1]["train_synthetic_share"] < uncurated[2]["train_synthetic_share"]
    assert 0 < uncurated[1]["train_synthetic_word_share"] < uncurated[2]["train_synthetic_word_share"] < 1


def test_curated_policy_needs_the_curate_job():
    train, heldout = tiny_split()
    with pytest.raises(ValueError, match="curator"):
        simulate(train, heldout, SimulationConfig(generations=1, policies=(Policy.CURATED,)))


def write_tiny_corpus(tmp_path):
    corpus = tmp_path / "real.jsonl"
    corpus.write_text("".join(json.dumps({"text": t, "kind": f"k{i % 2}"}) + "\n" for i, t in enumerate(tiny_texts(60))))
    return ["--input", str(corpus), "--source-field", "kind", "--real-docs", "0", "--heldout-fraction", "0.2",
            "--share-step", "0.3", "--num-perm", "32"]


def test_job_runs_the_curate_job_with_a_detector_and_writes_results_plots_and_summary(tmp_path):
    out = tmp_path / "out"
    assert simulate_collapse.main([*write_tiny_corpus(tmp_path), "--output", str(out), "--generations", "2"]) == 0

    results = json.loads((out / "results.json").read_text())
    assert set(results["policies"]) == {"replace", "uncurated", "curated"} and results["curate"]["detector"]
    curated, uncurated = results["policies"]["curated"], results["policies"]["uncurated"]
    assert [r["generation"] for r in curated] == [0, 1, 2]
    assert 0 < curated[2]["train_synthetic_share"] < uncurated[2]["train_synthetic_share"]
    manifest = json.loads((out / "curated" / "gen-2" / "output" / "manifest.json").read_text())
    assert manifest["accounting"]["balanced"] and (out / "curated" / "gen-2" / "detector" / "model.json").exists()
    for metric in ("perplexity", "rare_type_share", "vocab_coverage", "distinct_2", "js_divergence"):
        assert (out / f"{metric}.png").stat().st_size > 0
    summary = (out / "summary.md").read_text()
    assert "| 2 | curated |" in summary and "curated beats uncurated at every generation on" in summary


def test_undeclared_records_counted_as_synthetic_keep_the_real_floor_true(tmp_path):
    out = tmp_path / "out"
    argv = [*write_tiny_corpus(tmp_path), "--output", str(out), "--generations", "1", "--policies", "curated",
            "--assume-undeclared-synthetic"]
    assert simulate_collapse.main(argv) == 0
    row = json.loads((out / "results.json").read_text())["policies"]["curated"][1]
    # Only declared-real records count as real, so the truth meets the floor too.
    assert 0 < row["train_synthetic_share"] <= 0.2
    assert row["train_docs"] <= row["train_real_docs"] / 0.8


def test_job_refuses_bad_settings(tmp_path, capsys):
    assert simulate_collapse.main(["--output", str(tmp_path), "--top-p", "2"]) == 2
    assert "top_p" in capsys.readouterr().err
