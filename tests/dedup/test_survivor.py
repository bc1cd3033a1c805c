"""The survivor policy and per-cluster decisions. (no Beam)"""



from curation.dedup.options import ExactDedupOptions
from curation.dedup.survivor import (
    EMPTY_SUMMARY,
    Member,
    add_member,
    decision_for,
    merge_summaries,
    survivor_rank,
    survivor_verified_decisions,
)


def record(rid, text="x", origin=None, **extra):
    return {"id": rid, "text": text, "declared_origin": origin, "source": "s",
            "source_uri": "u", "source_index": 0, **extra}


def test_default_policy_real_then_synthetic_then_null_then_longest_then_id():
    policy = ExactDedupOptions().survivor_policy
    records = [record("a", "long text", None), record("b", "t", "synthetic"), record("c", "tt", "real"),
               record("d", "ttt", "real"), record("e", "ttt", "real")]
    ranked = sorted(records, key=lambda r: survivor_rank(r, policy))
    assert [r["id"] for r in ranked] == ["d", "e", "c", "b", "a"]


def test_cluster_summaries_merge_in_any_grouping_to_the_whole_clusters_summary():
    members = [Member(f"m{i}", (i % 3, f"m{i}"), 1 + i % 2, None) for i in range(10)]
    whole = EMPTY_SUMMARY
    for member in members:
        whole = add_member(whole, member)
    assert whole == (members[0], 10, 15)
    parts = []
    for chunk in (members[7:], members[:3], members[3:7]):
        part = EMPTY_SUMMARY
        for member in reversed(chunk):
            part = add_member(part, member)
        parts.append(part)
    assert merge_summaries(parts + [EMPTY_SUMMARY]) == whole
    # Any part of the members is decided the same as within the whole cluster.
    assert decision_for("m5", None, whole, "exact", lambda a, b: 1.0) == ("m0", "exact:m0", 15, 1.0, "exact")


def resolve_cluster(members, kind, similarity):
    """A whole cluster in memory: summarised, then every member decided."""
    summary = EMPTY_SUMMARY
    for member in members:
        summary = add_member(summary, member)
    return [(m.id, decision_for(m.id, m.sketch, summary, kind, similarity)) for m in members] if len(members) > 1 else []


def test_resolve_cluster_is_order_independent_and_sums_weights():
    policy = ("earliest_source",)
    members = [Member(f"m{i}", survivor_rank(record(f"m{i}", source_index=9 - i), policy), 2, None)
               for i in range(5)]
    out = dict(resolve_cluster(members, "exact", lambda a, b: 1.0))
    assert out == dict(resolve_cluster(list(reversed(members)), "exact", lambda a, b: 1.0))
    assert {d.survivor_id for d in out.values()} == {"m4"}
    assert {d.cluster_size for d in out.values()} == {10}
    assert out["m4"].cluster_id == "exact:m4"
    assert list(resolve_cluster(members[:1], "exact", lambda a, b: 1.0)) == []


def chain_similarity(a, b):
    """Members' sketches are positions on a line: neighbours are alike, two apart are not."""
    return {0: 1.0, 1: 0.85}.get(abs(a - b), 0.5)


def test_survivor_verified_rounds_remove_only_against_a_matching_survivor():
    members = [Member(f"n{i:02d}", (i,), 1 + (i == 2), i) for i in range(7)]  # a chain, ranked by position
    decisions, unverified = survivor_verified_decisions([members], "near", chain_similarity, 0.8, rounds=10)
    removed = {m: d.survivor_id for m, d in decisions.items() if d.survivor_id != m}
    assert removed == {"n01": "n00", "n03": "n02", "n05": "n04"} and unverified == set()
    assert all(d.similarity >= 0.8 for d in decisions.values())
    assert decisions["n02"].cluster_size == 3 and decisions["n02"].cluster_id == "near:n02"  # n02 weighs 2
    assert "n06" not in decisions  # checked against every survivor, matched none: kept, in no cluster
    # Two rounds leave a cluster of two or more undecided: kept, and said so.
    decisions, unverified = survivor_verified_decisions([members], "near", chain_similarity, 0.8, rounds=2)
    assert set(decisions) == {"n00", "n01", "n02", "n03"} and unverified == {"n04", "n05", "n06"}
