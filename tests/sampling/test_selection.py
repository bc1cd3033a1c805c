"""The selection plan end to end without Beam: levels, byte quotas, byte shards.

``_select`` and ``_place`` run the same pure steps the Beam wrappers run
(targets, the keys covering them, cut-offs, ``bucket_of``), over whole groups
instead of histogram bins, so the 10,000-document scale is cheap here.
"""

from __future__ import annotations

import math
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from curation.hashing import seeded_hash64
from curation.ranking.core import bucket_of, covering_records, keys_at_offsets
from curation.ratio import exact_fraction
from curation.sampling.allocation import max_synthetic_bytes_for_shards, unimax_cap
from curation.sampling.options import SampleOptions
from curation.shards import ShardTargets
from curation.sampling.selection import (
    REAL,
    SYNTHETIC,
    GroupSize,
    byte_shard_plan,
    plan_selection,
    sampling_report,
    selection_cutoffs,
    selection_targets,
)
from curation.sampling.strata import ALL_RECORDS, user_stratum
from curation.writing.core import cumulative_ranks

STRATA = {"s0": 10_000, "s1": 3_000, "s2": 1_000, "s3": 300, "s4": 100, "s5": 30, "s6": 10, "s7": 5}
LENGTHS = ["0-15", "16-31", "32-63", "64-127", "128-255"]
PROPERTIES = settings(max_examples=120, deadline=None)


def _skewed_documents():
    """(id, stratum key, origin, text bytes): 8 user strata, each over length x topic cells.

    Synthetic documents run longer than real ones, as in the demo.
    """
    documents = []
    for name, size in STRATA.items():
        for i in range(size):
            h = seeded_hash64(f"{name}-{i}", 5, "shape") & 0xFFFF
            bucket, topic = h % len(LENGTHS), (h >> 3) % 8
            origin = REAL if i % 2 else SYNTHETIC
            low = 2 ** (bucket + 3)
            size_bytes = 6 * (low + h % low) + (40 if origin == SYNTHETIC else 0)
            documents.append((f"{name}-{i}", f"genre={name}|len={LENGTHS[bucket]}|topic={topic:02d}", origin, size_bytes))
    return documents


def _groups(documents):
    groups: dict = {}
    for _, stratum, origin, size in documents:
        n, total, longest = groups.get((stratum, origin), (0, 0, 0))
        groups[(stratum, origin)] = GroupSize(n + 1, total + size, max(longest, size))
    return groups


def _select(documents, plan, in_bytes, seed=0):
    """What SelectSample keeps: per (stratum, origin) group the records ordered below
    its cut-off key (in bytes: the covering record's extent found, as RankBoundaries
    does with ``extents``). Returns {group: [(order key, bytes)]}."""
    cuts: dict = {}
    for doc_id, stratum, origin, size in documents:
        key = (seeded_hash64(doc_id, seed, "select"), doc_id)
        cuts.setdefault((stratum, origin), []).append((key, size if in_bytes else 1, size))
    targets = selection_targets(plan)
    found = {}
    for group, (_, ranks) in targets.items():
        weighted = [(k, w) for k, w, _ in cuts[group]]
        total = sum(w for _, w in weighted)
        locate = covering_records if in_bytes else keys_at_offsets
        found[group] = [locate(weighted, [p])[p] if p < total else None for p in ranks]
    cutoffs = selection_cutoffs(plan, found, seed)
    return {group: [(k, size) for k, _, size in items if bucket_of(k, cutoffs[group]) == 0] for group, items in cuts.items()}


def _place(selected_by_origin, shards, in_bytes):
    """What WriteShards does with the plan: per origin, keys covering the cumulative targets."""
    placed = [{REAL: 0, SYNTHETIC: 0} for _ in shards]
    rows = [{REAL: 0, SYNTHETIC: 0} for _ in shards]
    for origin, items in selected_by_origin.items():
        weighted = sorted((k, w if in_bytes else 1) for k, w in items)
        total = sum(w for _, w in weighted)
        ranks = cumulative_ranks(shards, origin)
        boundaries = [keys_at_offsets(weighted, [p])[p] if p < total else None for p in ranks]
        for key, w in weighted:
            j = bucket_of(key, boundaries)
            placed[j][origin] += w
            rows[j][origin] += 1
    return placed, rows


def _by_origin(selected):
    return {o: [item for (_, origin), items in selected.items() if origin == o for item in items] for o in (REAL, SYNTHETIC)}


def _assert_floor(shares, r):
    r = exact_fraction(r, "r")
    for shard in shares:
        assert shard[REAL] >= r * (shard[REAL] + shard[SYNTHETIC]), shard


def _user_sizes(groups, origin, measure):
    sizes: dict = {}
    for (stratum, o), size in groups.items():
        if o == origin:
            sizes[user_stratum(stratum, 1)] = sizes.get(user_stratum(stratum, 1), 0) + measure(size)
    return sizes


OPTIONS = dict(strata_fields=("genre",), min_real_fraction=0.8, sample_fraction=0.3, shards=ShardTargets(rows=700), seed=0)


def test_skewed_user_strata_under_the_cap_are_kept_whole_in_rows():
    documents = _skewed_documents()
    groups = _groups(documents)
    options = SampleOptions(**OPTIONS)
    plan = plan_selection(groups, options)
    assert plan == plan_selection(dict(reversed(list(groups.items()))), options)  # same plan whatever the order
    selected = _select(documents, plan, in_bytes=False)
    budget = math.floor(0.3 * len(documents))
    assert sum(len(items) for items in selected.values()) == budget
    for origin in (REAL, SYNTHETIC):
        sizes = _user_sizes(groups, origin, lambda s: s.documents)
        out = {u: 0 for u in sizes}
        for (stratum, o), items in selected.items():
            if o == origin:
                out[user_stratum(stratum, 1)] += len(items)
        cap = unimax_cap(sizes, sum(out.values()))
        whole = [u for u, n in sizes.items() if n <= cap]
        assert len(whole) >= 5  # the five rarest user strata, for both origins
        assert all(out[u] == sizes[u] for u in whole), (origin, cap)
    _, rows = _place(_by_origin(selected), plan["shards"], in_bytes=False)
    assert rows == plan["shards"] and len(rows) == math.ceil(budget / 700)
    _assert_floor(rows, 0.8)
    report = sampling_report(plan, {g: (len(i), sum(w for _, w in i)) for g, i in selected.items()}, math.nan, options)
    assert report["tail"]["user_strata"]["rarest_decile_kept_share"] == 1.0
    assert report["user_strata"]["genre=s7"] == {
        "in": 5, "out": 5, "in_real": 2, "out_real": 2, "in_synthetic": 3, "out_synthetic": 3,
        **{k: v for k, v in report["user_strata"]["genre=s7"].items() if k.endswith("text_bytes")},
    }


def test_skewed_user_strata_in_bytes_keep_the_floor_on_text_in_every_shard():
    documents = _skewed_documents()
    groups = _groups(documents)
    options = SampleOptions(**{**OPTIONS, "shards": ShardTargets(rows=700, text_bytes=100_000)}, ratio_unit="bytes")
    plan = plan_selection(groups, options)
    assert plan["num_shards"] > 2
    selected = _select(documents, plan, in_bytes=True)
    _assert_origin_totals_within_one_document(plan, groups, selected)
    _assert_whole_cells_whole_and_prefixes(plan, documents, selected)
    assert max(_assert_cells_within_one_document(plan, documents, selected).values()) < 1
    for origin in (REAL, SYNTHETIC):
        sizes = _user_sizes(groups, origin, lambda s: s.text_bytes)
        quotas = {u: 0 for u in sizes}
        for (stratum, o), q in plan["quotas"].items():
            if o == origin:
                quotas[user_stratum(stratum, 1)] += q
        cap = unimax_cap(sizes, sum(quotas.values()))
        whole = [u for u, n in sizes.items() if n <= cap]
        assert {"genre=s3", "genre=s4", "genre=s5", "genre=s6", "genre=s7"} <= set(whole) and "genre=s0" not in whole
        assert all(quotas[u] == sizes[u] for u in whole)
        for (stratum, o), items in selected.items():
            if o == origin and user_stratum(stratum, 1) in whole:
                assert len(items) == groups[(stratum, o)].documents
    by_origin = _by_origin(selected)
    totals = {o: sum(w for _, w in items) for o, items in by_origin.items()}
    shards = byte_shard_plan(totals, plan["num_shards"])
    placed, _ = _place(by_origin, shards, in_bytes=True)
    _assert_floor(placed, 0.8)  # exactly, thanks to the reserve
    # Even split, to within one document of each origin's share.
    longest = {o: max(w for _, w in items) for o, items in by_origin.items()}
    for got, planned in zip(placed, shards):
        assert all(abs(got[o] - planned[o]) < longest[o] for o in (REAL, SYNTHETIC))


def _assert_origin_totals_within_one_document(plan, groups, selected):
    for origin in (REAL, SYNTHETIC):
        quota = sum(q for (_, o), q in plan["quotas"].items() if o == origin)
        got = sum(w for (_, o), items in selected.items() if o == origin for _, w in items)
        longest = max(s.longest for (_, o), s in groups.items() if o == origin)
        if origin == REAL:
            assert quota <= got < quota + longest or got == quota == 0, (origin, quota, got)
        else:
            assert quota - longest < got <= quota, (origin, quota, got)


def _assert_cells_within_one_document(plan, documents, selected, seed=0):
    """Each cell holds its floor (the longest prefix of its seeded-hash order whose
    bytes fit in its quota) or its floor and the next record: within one document."""
    ordered: dict = {}
    for doc_id, stratum, origin, size in documents:
        ordered.setdefault((stratum, origin), []).append(((seeded_hash64(doc_id, seed, "select"), doc_id), size))
    deviations = {}
    for group, items in ordered.items():
        items.sort()
        quota, floor, floor_bytes = plan["quotas"].get(group, 0), 0, 0
        while floor < len(items) and floor_bytes + items[floor][1] <= quota:
            floor_bytes += items[floor][1]
            floor += 1
        assert len(selected[group]) in (floor, floor + 1) and len(selected[group]) <= len(items), group
        got = sum(w for _, w in selected[group])
        longest = max(w for _, w in items)
        assert got == quota or abs(got - quota) < longest, (group, quota, got)
        deviations[group] = abs(got - quota) / longest if longest else 0
    return deviations


def _assert_whole_cells_whole_and_prefixes(plan, documents, selected):
    groups = _groups(documents)
    ordered: dict = {}
    for doc_id, stratum, origin, _ in documents:
        ordered.setdefault((stratum, origin), []).append((seeded_hash64(doc_id, 0, "select"), doc_id))
    for group, items in selected.items():
        if plan["quotas"][group] == groups[group].text_bytes:
            assert len(items) == groups[group].documents, group
        # Selected records are a prefix of their cell in seeded-hash order.
        assert sorted(k for k, _ in items) == sorted(ordered[group])[: len(items)], group


def test_without_user_fields_the_cells_are_the_one_level():
    documents = _skewed_documents()
    groups = _groups(documents)
    plan = plan_selection(groups, SampleOptions(**{**OPTIONS, "strata_fields": ()}))
    report = sampling_report(plan, {}, math.nan, SampleOptions(**{**OPTIONS, "strata_fields": ()}))
    assert list(report["user_strata"]) == [ALL_RECORDS]
    # One level over the same cells: what allocation over cells alone gives.
    from curation.sampling.allocation import allocate

    real = {s: n.documents for (s, o), n in groups.items() if o == REAL}
    real_total = sum(q for (_, o), q in plan["quotas"].items() if o == REAL)
    assert {s: q for (s, o), q in plan["quotas"].items() if o == REAL} == allocate(real, real_total)


weights = st.lists(st.sampled_from([0, 1, 2, 7, 50, 300, 2000]) | st.integers(1, 5000), min_size=1, max_size=60)


@PROPERTIES
@given(st.lists(st.tuples(st.sampled_from([REAL, SYNTHETIC]), weights), min_size=1, max_size=5), st.data())
def test_byte_quotas_are_met_within_one_document_per_origin(cells, data):
    documents = [(f"c{c}-{i}", f"c{c}", origin, w) for c, (origin, ws) in enumerate(cells) for i, w in enumerate(ws)]
    groups = _groups(documents)
    quotas = {g: data.draw(st.sampled_from([0, s.text_bytes, s.text_bytes // 3]) | st.integers(0, s.text_bytes))
              for g, s in groups.items()}
    plan = {"unit": "bytes", "sizes": {g: s.documents for g, s in groups.items()},
            "text_bytes": {g: s.text_bytes for g, s in groups.items()}, "quotas": quotas}
    selected = _select(documents, plan, in_bytes=True)
    for origin in {o for _, o in groups}:
        quota = sum(q for (_, o), q in quotas.items() if o == origin)
        got = sum(w for (_, o), items in selected.items() if o == origin for _, w in items)
        longest = max(s.longest for (_, o), s in groups.items() if o == origin)
        if quota == sum(s.text_bytes for (_, o), s in groups.items() if o == origin):
            assert all(len(selected[g]) == s.documents for g, s in groups.items() if g[1] == origin)
        elif origin == REAL:
            assert quota <= got < quota + longest or got == quota == 0
        else:
            assert quota - longest < got <= quota
    _assert_whole_cells_whole_and_prefixes(plan, documents, selected)  # weightless records too
    _assert_cells_within_one_document(plan, documents, selected)


@PROPERTIES
@given(st.lists(st.tuples(st.sampled_from([REAL, SYNTHETIC]), weights), min_size=1, max_size=40), st.data())
def test_byte_quotas_are_met_within_one_document_per_cell_even_below_one_document(cells, data):
    """Many cells whose quotas are mostly below one document (as on the demo): every
    cell is within one document of its quota and each origin's total still holds."""
    documents = [(f"c{c}-{i}", f"c{c}", origin, w) for c, (origin, ws) in enumerate(cells) for i, w in enumerate(ws)]
    groups = _groups(documents)
    quotas = {g: data.draw(st.integers(0, min(s.text_bytes, s.longest)) | st.integers(0, s.text_bytes))
              for g, s in groups.items()}
    plan = {"unit": "bytes", "sizes": {g: s.documents for g, s in groups.items()},
            "text_bytes": {g: s.text_bytes for g, s in groups.items()}, "quotas": quotas}
    seed = data.draw(st.integers(0, 3))
    selected = _select(documents, plan, in_bytes=True, seed=seed)
    _assert_cells_within_one_document(plan, documents, selected, seed)
    for origin in {o for _, o in groups}:
        quota = sum(q for (_, o), q in quotas.items() if o == origin)
        got = sum(w for (_, o), items in selected.items() if o == origin for _, w in items)
        longest = max(s.longest for (_, o), s in groups.items() if o == origin)
        if origin == REAL:
            assert quota <= got < quota + longest or got == quota, (quota, got)
        else:
            assert quota - longest < got <= quota or got == quota, (quota, got)


@PROPERTIES
@given(weights, weights, st.integers(1, 12), st.sampled_from([0.5, 0.7, 0.8, 0.9, Fraction(2, 3)]))
def test_byte_shards_meet_the_floor_when_synthetic_fits_the_reserve(real_weights, synthetic_weights, shards, r):
    real_total = sum(real_weights)
    room = max_synthetic_bytes_for_shards(real_total, shards, r, max(real_weights), max(synthetic_weights))
    kept, total = [], 0
    for w in synthetic_weights:  # as a synthetic quota is met: never past it
        if total + w <= room:
            kept.append(w)
            total += w
    by_origin = {
        REAL: [((seeded_hash64(f"r{i}", 1), f"r{i}"), w) for i, w in enumerate(real_weights)],
        SYNTHETIC: [((seeded_hash64(f"s{i}", 1), f"s{i}"), w) for i, w in enumerate(kept)],
    }
    plan = byte_shard_plan({REAL: real_total, SYNTHETIC: total}, shards)
    placed, _ = _place(by_origin, plan, in_bytes=True)
    assert sum(s[REAL] for s in placed) == real_total and sum(s[SYNTHETIC] for s in placed) == total
    _assert_floor(placed, r)
