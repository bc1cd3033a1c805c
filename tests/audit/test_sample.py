"""The audit's draw: proportional, nested allocation and a sample that represents every shard (no Beam)."""

import pytest

from curation.audit.sample import allocate
from tests.factories import audit_run, simulated_audit_output


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
    tables = simulated_audit_output()
    small = audit_run(tables, 40, 5, unit)[1]
    large = audit_run(tables, 90, 5, unit)[1]
    assert {record["shard"] for record, _ in small.picks} == {name for _, name, _ in tables}
    draws = lambda d: {r["id"]: n for r, n in d.picks}  # noqa: E731
    assert all(draws(large).get(i, 0) >= n for i, n in draws(small).items())
    assert sum(draws(small).values()) == 40
    assert all(r["origin_basis"] == "detector" for r, _ in large.picks)
    counts = large.design["shards"]["part-0"]["rows"]
    assert sum(counts.values()) == 150 and counts["undeclared_real"] > 0
