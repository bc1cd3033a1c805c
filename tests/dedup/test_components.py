"""Connected components: the star steps against union-find. (no Beam)"""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from curation.dedup.components import (
    alternating_star_round,
    large_star,
    small_star,
    star_roots,
    union_find_roots,
)


def converge(edges, rounds=30):
    for _ in range(rounds):
        edges = alternating_star_round(edges)
        roots = star_roots(edges)
        if all(len(r) == 1 for r in roots.values()):
            return {node: next(iter(r)) for node, r in roots.items()}
    raise AssertionError("did not converge")


def test_star_steps():
    assert sorted(large_star("b", ["a", "c", "d"])) == [("a", "c"), ("a", "d")]
    assert sorted(small_star("d", ["b", "a"])) == [("a", "b"), ("a", "d")]


@pytest.mark.parametrize("order", ["sorted", "shuffled"])
def test_chain_converges_to_union_find(order):
    ids = [f"{i:04d}" for i in range(500)]
    if order == "shuffled":
        random.Random(7).shuffle(ids)
    edges = [tuple(sorted(pair)) for pair in zip(ids, ids[1:])]
    assert converge(edges) == union_find_roots(ids, edges)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 40), st.integers(0, 40)), max_size=80))
def test_random_graphs_match_union_find(pairs):
    edges = sorted({(f"{min(a, b):02d}", f"{max(a, b):02d}") for a, b in pairs if a != b})
    expected = {n: r for n, r in union_find_roots([], edges).items()}
    assert (converge(edges) if edges else {}) == expected


def test_unconverged_graph_is_detected():
    roots = star_roots([("a", "b"), ("b", "c")])  # b is a leaf and a centre
    assert len(roots["b"]) == 2
