"""The audit's pure core: the draw, the certified bound's coverage, the advice (no Beam)."""

import random

import pytest

from curation.audit.certify import (
    Tally, advice_text, certified_share, certify, labels_needed, projected_bound, real_below_needed,
)
from curation.audit.options import AuditOptions
from curation.audit.sample import allocate, draw_sample

RUN = "run-sim"


def simulated_output(seed=1, shards=4, per_shard=150, leak=0.1, human=0.4, long_machine=False):
    """Shards of records with known authors: half declared; of the undeclared, half counted real,
    a ``leak`` share of those machine-written, and a ``human`` share of those counted synthetic human."""
    rng = random.Random(seed)
    tables = []
    for s in range(shards):
        records = []
        for i in range(per_shard):
            declared = rng.random() < 0.5
            counted = "real" if rng.random() < 0.6 else "synthetic"
            if declared:
                truth = counted
            elif counted == "real":
                truth = "synthetic" if rng.random() < leak else "real"
            else:
                truth = "real" if rng.random() < human else "synthetic"
            length = int(rng.lognormvariate(6, 0.6)) * (3 if long_machine and truth == "synthetic" else 1) + 1
            records.append({"id": f"s{s}-{i}", "origin": counted, "origin_basis": "declared" if declared else "detector",
                            "text_bytes": length, "truth": truth, "synthetic_score": rng.random()})
        tables.append(("data", f"part-{s}", records))
    return tables


def true_share(tables, unit="rows"):
    weight = (lambda r: r["text_bytes"]) if unit == "bytes" else (lambda r: 1)
    everything = [r for _, _, records in tables for r in records]
    return sum(weight(r) for r in everything if r["truth"] == "real") / sum(weight(r) for r in everything)


def audit(tables, size, seed, unit="rows", floor=None, confidence=0.95):
    draw = draw_sample(tables, AuditOptions(sample_size=size, seed=seed, unit=unit), RUN, {})
    sample = [{**record, "predicted_origin": record["origin"], "draws": n} for record, n in draw.picks]
    labels = {row["id"]: row["truth"] for row in sample}
    manifest = {"run_id": RUN, "config": {"min_real_fraction": floor}}
    return certify(manifest, draw.design, sample, labels, confidence), draw


@pytest.mark.parametrize("unit", ["rows", "bytes"])
def test_certified_bound_covers_the_true_share_in_95_percent_of_audits_and_is_not_vacuous(unit):
    # Machine texts three times as long in bytes mode: the byte share differs from the row share.
    tables = simulated_output(long_machine=unit == "bytes")
    truth = true_share(tables, unit)
    audits = [audit(tables, 100, seed, unit)[0] for seed in range(200)]
    overall = [c["overall"]["certified_real_share"] for c in audits]
    covered = sum(bound <= truth for bound in overall)
    assert covered >= 0.95 * len(audits)
    slack = sorted(truth - bound for bound in overall)
    # Typical (median) slack, 100 labels of 300 undeclared records in 600: 6.1 points (rows), 5.9 (bytes).
    assert 0 < slack[len(slack) // 2] < 0.07
    # The strictly per-shard bounds (own labels, Bonferroni over shards) hold for all shards together.
    shard_truth = {name: true_share([(t, name, records)], unit) for t, name, records in tables}
    jointly = sum(all(c["shards"][n]["own_sample_certified_real_share"] <= shard_truth[n] for n in shard_truth)
                  for c in audits)
    assert jointly >= 0.95 * len(audits)


def test_allocation_is_proportional_nested_and_capped():
    weights = {"a": 700, "b": 200, "c": 100, "d": 0}
    assert allocate(weights, 10) == {"a": 7, "b": 2, "c": 1, "d": 0}
    previous = allocate(weights, 0)
    for total in range(1, 60):
        current = allocate(weights, total)
        assert all(current[k] >= previous[k] for k in weights) and sum(current.values()) == total
        previous = current
    assert allocate(weights, 50, caps={"a": 700, "b": 200, "c": 3, "d": 0})["c"] == 3
    assert sum(allocate({"a": 2, "b": 1}, 10, caps={"a": 2, "b": 1}).values()) == 3  # a census, no more


@pytest.mark.parametrize("unit", ["rows", "bytes"])
def test_draw_represents_every_shard_and_a_larger_sample_holds_a_smaller_one(unit):
    tables = simulated_output()
    small = audit(tables, 40, 5, unit)[1]
    large = audit(tables, 90, 5, unit)[1]
    assert {record["shard"] for record, _ in small.picks} == {name for _, name, _ in tables}
    draws = lambda d: {r["id"]: n for r, n in d.picks}  # noqa: E731
    assert all(draws(large).get(i, 0) >= n for i, n in draws(small).items())
    assert sum(draws(small).values()) == 40
    assert all(r["origin_basis"] == "detector" for r, _ in large.picks)
    counts = large.design["shards"]["part-0"]["rows"]
    assert sum(counts.values()) == 150 and counts["undeclared_real"] > 0


def test_formula_counts_declared_exactly_and_the_rest_by_its_bounds():
    counts = {"declared_real": 50, "declared_synthetic": 10, "undeclared_real": 30, "undeclared_synthetic": 10,
              "undecided": 0}
    assert certified_share(counts, 0.2, 0.5) == pytest.approx((50 + 30 * 0.8 + 10 * 0.5) / 100)
    assert certified_share(dict.fromkeys(counts, 0), 0.2, 0.5) is None


def test_advice_names_the_smallest_sample_that_would_reach_the_floor():
    counts = {"declared_real": 500, "declared_synthetic": 0, "undeclared_real": 500, "undeclared_synthetic": 0,
              "undecided": 0}
    tallies = {"real": Tally(40, 2), "synthetic": Tally(0, 0)}  # 5% machine seen: estimated share 97.5%
    floor = 0.95
    assert projected_bound(counts, tallies, 1.0, 0.95) < floor
    needed = labels_needed(counts, tallies, floor, 0.95)
    assert projected_bound(counts, tallies, needed / 40, 0.95) >= floor
    assert projected_bound(counts, tallies, (needed - 1) / 40, 0.95) < floor
    assert labels_needed(counts, tallies, 0.99, 0.95) is None  # over the estimate itself: no sample does


def test_advice_finds_a_lower_real_below_when_the_leaks_score_high():
    counts = {"declared_real": 500, "declared_synthetic": 0, "undeclared_real": 500, "undeclared_synthetic": 0,
              "undecided": 0}
    # Human records score under 0.1, machine ones from 0.15: a threshold of 0.15 stops every leak
    # (0.151 lets one through, too many for the floor).
    sample = [{"id": f"h{i}", "table": "data", "predicted_origin": "real", "draws": 1, "synthetic_score": i / 1000}
              for i in range(100)]
    sample += [{"id": f"m{i}", "table": "data", "predicted_origin": "real", "draws": 1, "synthetic_score": 0.15 + i / 1000}
               for i in range(10)]
    labels = {r["id"]: "real" if r["id"].startswith("h") else "synthetic" for r in sample}
    tallies = {"real": Tally(110, 10), "synthetic": Tally(0, 0)}
    found = real_below_needed(sample, labels, counts, tallies, 0.98, 0.95)
    assert found["real_below"] == 0.15 and found["machine_under_it"] == 0 and found["labelled_under_it"] == 100
    assert found["projected_certified_real_share"] >= 0.98


def test_a_run_under_its_floor_says_so_with_advice():
    tables = simulated_output(leak=0.3)
    certification, _ = audit(tables, 150, 0, floor=0.9)
    assert not certification["meets_floor"]
    advice = certification["advice"]
    assert advice["labels_needed"] is None  # the estimate itself is far under 0.9
    assert certification["overall"]["certified_real_share"] < certification["overall"]["estimated_real_share"]


def test_advice_sentence_names_the_labels_and_the_threshold():
    certification = {"min_real_fraction": 0.8, "overall": {"estimated_real_share": 0.85}, "advice": {
        "labels_needed": 900, "more_labels": 600,
        "lower_real_below": {"real_below": 0.0812, "labelled_under_it": 210, "projected_certified_real_share": 0.803}}}
    assert advice_text(certification) == (
        "under the floor of 80.0%: about 600 more labels would reach it (a sample of 900, if the machine shares "
        "seen so far hold); a re-run with real_below at most 0.0812 would (projected from the 210 labelled records "
        "under it: 80.3% certified)")
    assert advice_text({**certification, "advice": None}) == ""
