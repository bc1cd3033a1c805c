"""The audit's certified bound: its coverage, the formula, the advice (no Beam)."""


import pytest

from curation.audit.certify import (
    Tally, advice_text, certified_share, labels_needed, projected_bound, real_below_needed,
)
from tests.factories import audit_run, simulated_audit_output, true_share


@pytest.mark.parametrize("unit", ["rows", "bytes"])
def test_certified_bound_covers_the_true_share_in_95_percent_of_audits_and_is_not_vacuous(unit):
    # Machine texts three times as long in bytes mode: the byte share differs from the row share.
    tables = simulated_audit_output(long_machine=unit == "bytes")
    truth = true_share(tables, unit)
    audits = [audit_run(tables, 100, seed, unit)[0] for seed in range(200)]
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
    tables = simulated_audit_output(leak=0.3)
    certification, _ = audit_run(tables, 150, 0, floor=0.9)
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
