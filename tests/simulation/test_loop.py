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
    with pytest.raises(ValueError, match="curator"):  # the sweep alone needs it too
        simulate(train, heldout, SimulationConfig(generations=1, policies=(Policy.REPLACE,), real_fractions=(0.8,)))


class FloorCurator:
    """A stand-in for the curate job: keeps every record declared real and, in id
    order, as many of the others (undeclared ones count as synthetic) as the floor
    allows. A class, so it pickles into the simulation's worker processes."""

    def __init__(self, calls=None):
        self.calls = [] if calls is None else calls

    def __call__(self, records, generation, chain):
        self.calls.append((generation, chain, records))
        real = [r for r in records if r.get("origin") == "real"]
        others = sorted((r for r in records if r.get("origin") != "real"), key=lambda r: r["id"])
        allowed = int(len(real) * (1 - chain.real_fraction) / chain.real_fraction)
        return [(r["id"], r["text"]) for r in sorted(real + others[:allowed], key=lambda r: r["id"])]


def test_sweep_runs_each_floor_with_both_provenances_and_shares_what_is_the_same():
    train, heldout = tiny_split()
    config = SimulationConfig(generations=2, policies=(Policy.UNCURATED, Policy.CURATED), real_fractions=(0.8, 0.4),
                              seed_replicates=1, top_p=0.6, undeclared_share=0.3)
    calls = []
    results = simulate(train, heldout, config, FloorCurator(calls))
    assert results == simulate(train, heldout, config, FloorCurator())

    sweep = {(c["real_fraction"], c["provenance"]): c for c in results["sweep"]}
    assert list(sweep) == [(0.4, "crawl"), (0.4, "declared"), (0.8, "crawl"), (0.8, "declared")]
    # The default curated chain is the sweep's r = 0.8 crawl point and replicate 0, run once.
    assert results["policies"]["curated"] == sweep[0.8, "crawl"]["rows"] == results["replicates"][0]["rows"]
    assert [c["seed"] for c in results["replicates"]] == [0, 1]
    assert results["replicates"][1]["rows"][1] != results["replicates"][0]["rows"][1]
    chains = {chain for _, chain, _ in calls}
    assert len(chains) == 5 and len(calls) == 5 * 2
    for _, chain, records in calls:
        assert all("origin" in r for r in records) == chain.all_declared
    # Perfect provenance holds the floor on the truth.
    assert all(r["train_synthetic_share"] <= 0.2 for r in sweep[0.8, "declared"]["rows"])
    # At 15% synthetic the 0.4 floor does not bind: both provenances keep the whole mix, and share its model.
    assert sweep[0.4, "crawl"]["rows"][1] is sweep[0.4, "declared"]["rows"][1]
    assert sweep[0.8, "crawl"]["rows"][1] != sweep[0.8, "declared"]["rows"][1]


def test_chains_run_in_worker_processes_give_the_same_results():
    train, heldout = tiny_split()
    config = SimulationConfig(generations=2, real_fractions=(0.8, 0.4), seed_replicates=1, top_p=0.6,
                              undeclared_share=0.3)
    one = simulate(train, heldout, config, FloorCurator())
    assert simulate(train, heldout, config, FloorCurator(), workers=2) == one
    with pytest.raises(ValueError, match="workers"):
        simulate(train, heldout, config, FloorCurator(), workers=0)


def write_tiny_corpus(tmp_path):
    corpus = tmp_path / "real.jsonl"
    corpus.write_text("".join(json.dumps({"text": t, "kind": f"k{i % 2}"}) + "\n" for i, t in enumerate(tiny_texts(60))))
    return ["--input", str(corpus), "--source-field", "kind", "--real-docs", "0", "--heldout-fraction", "0.2",
            "--share-step", "0.3", "--num-perm", "32", "--seed-replicates", "0", "--workers", "1"]


def test_job_runs_the_curate_job_with_a_detector_and_writes_results_plots_and_summary(tmp_path):
    out = tmp_path / "out"
    # Two workers: the curate job pickles into them (the other job tests run in one process, faster).
    argv = [*write_tiny_corpus(tmp_path), "--output", str(out), "--generations", "2", "--real-fractions=", "--workers", "2"]
    assert simulate_collapse.main(argv) == 0

    results = json.loads((out / "results.json").read_text())
    assert set(results["policies"]) == {"replace", "uncurated", "curated"} and results["curate"]["detector"]
    assert results["curate"]["ratio_unit"] == "bytes" and results["sweep"] == []
    curated, uncurated = results["policies"]["curated"], results["policies"]["uncurated"]
    assert [r["generation"] for r in curated] == [0, 1, 2]
    assert 0 < curated[2]["train_synthetic_share"] < uncurated[2]["train_synthetic_share"]
    work = out / "curated" / "curated-r0.8-crawl-seed0" / "gen-2"
    manifest = json.loads((work / "output" / "manifest.json").read_text())
    assert manifest["accounting"]["balanced"] and (work / "detector" / "model.json").exists()
    for metric in ("perplexity", "rare_type_share", "vocab_coverage", "distinct_2", "js_divergence"):
        assert (out / f"{metric}.png").stat().st_size > 0
    summary = (out / "summary.md").read_text()
    assert "| 2 | curated |" in summary and "curated beats uncurated at every generation on" in summary
    assert "## Acceptance" in summary and "for both provenance variants: not measured" in summary
    assert "The curated real floor counts text bytes." in summary


def test_undeclared_records_counted_as_synthetic_and_perfect_provenance_keep_the_real_floor_true(tmp_path):
    out = tmp_path / "out"
    argv = [*write_tiny_corpus(tmp_path), "--output", str(out), "--generations", "1", "--policies", "curated",
            "--assume-undeclared-synthetic", "--real-fractions", "0.8"]
    assert simulate_collapse.main(argv) == 0
    results = json.loads((out / "results.json").read_text())
    row = results["policies"]["curated"][1]
    # Only declared-real records count as real, so the truth meets the floor too.
    assert 0 < row["train_synthetic_share"] <= 0.2
    assert row["train_docs"] <= row["train_real_docs"] / 0.8
    # The sweep's crawl point is that same chain; with every origin declared the floor holds on the truth.
    assert [c["provenance"] for c in results["sweep"]] == ["crawl", "declared"]
    assert results["sweep"][0]["rows"] == results["policies"]["curated"]
    declared = results["sweep"][1]["rows"][1]
    assert 0 < declared["train_synthetic_share"] <= 0.2 and declared["train_real_docs"] > row["train_real_docs"]
    assert not list((out / "curated").glob("*/gen-1/detector"))
    assert all((out / f"sweep_{m}.png").stat().st_size > 0 for m in ("rare_type_share", "perplexity"))
    summary = (out / "summary.md").read_text()
    assert "| 0.8 | every origin declared |" in summary and "The real floor counts text bytes." in summary
    assert "(20% undeclared, counted synthetic)" in summary


@pytest.mark.parametrize(
    "flags, message",
    [(["--top-p", "2"], "top_p"), (["--real-fractions", "0.5,x"], "real fraction"),
     (["--real-fractions", "0.5,1.5"], "real fraction"), (["--seed-replicates", "-1"], "seed_replicates"),
     (["--workers", "0"], "--workers")],
)
def test_job_refuses_bad_settings(tmp_path, capsys, flags, message):
    assert simulate_collapse.main(["--output", str(tmp_path), *flags]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_job_says_when_the_crawl_is_too_small_to_train_a_detector(tmp_path, capsys):
    # One synthetic document in the first generation's crawl: nothing to calibrate the detector on.
    argv = [*write_tiny_corpus(tmp_path), "--output", str(tmp_path / "out"), "--generations", "1",
            "--policies", "curated", "--real-fractions=", "--share-step", "0.02"]
    assert simulate_collapse.main(argv) == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]  # the other lines are the log's
    assert len(errors) == 1 and "Traceback" not in err and "no detector from the crawl's" in errors[0]
    assert "--assume-undeclared-synthetic" in errors[0]
