"""The simulation's metrics and policy helpers on small fixed inputs with known answers."""
import math
import random

import pytest

from curation.simulation import metrics
from curation.simulation.loop import SimulationConfig, split_real
from curation.simulation.policies import Document, crawl_records, synthetic_share, web_mix


def test_word_counts_and_rare_types():
    counts = metrics.word_counts(["a b a", "c\na", ""])
    assert counts == {"a": 3, "b": 1, "c": 1}
    assert metrics.rare_types(counts, max_count=1) == {"b", "c"}
    assert metrics.rare_types(counts, max_count=3) == {"a", "b", "c"}


def test_type_share():
    assert metrics.type_share(["a", "x"], frozenset({"a", "b", "c", "d"})) == 0.25
    assert metrics.type_share({"a": 1, "b": 2}, frozenset({"a", "b"})) == 1.0
    assert metrics.type_share([], frozenset()) == 1.0


def test_distinct_n_counts_ngrams_within_each_text():
    # "a b a b": bigrams ab, ba, ab -> 2 distinct of 3; "a b": ab -> one more, not distinct.
    assert metrics.distinct_n(["a b a b", "a b"], 2) == pytest.approx(2 / 4)
    assert metrics.distinct_n(["a b c"], 1) == 1.0
    assert metrics.distinct_n(["a", "b"], 2) == 0.0  # no bigram inside any text
    with pytest.raises(ValueError):
        metrics.distinct_n(["a"], 0)


def test_js_divergence_known_values():
    assert metrics.js_divergence({"a": 2, "b": 2}, {"a": 5, "b": 5}) == 0.0
    assert metrics.js_divergence({"a": 1}, {"b": 3}) == pytest.approx(1.0)
    # P = (1/2, 1/2), Q = (1, 0): M = (3/4, 1/4);
    # JS = 1/2 [1/2 log2(2/3) + 1/2 log2(2)] + 1/2 [log2(4/3)]
    expected = 0.5 * (0.5 * math.log2(2 / 3) + 0.5) + 0.5 * math.log2(4 / 3)
    assert metrics.js_divergence({"a": 1, "b": 1}, {"a": 7}) == pytest.approx(expected)
    assert metrics.js_divergence({"a": 1, "b": 1}, {"a": 7}) == pytest.approx(metrics.js_divergence({"a": 7}, {"a": 1, "b": 1}))
    with pytest.raises(ValueError):
        metrics.js_divergence({}, {"a": 1})


def real(n):
    return [Document(f"r{i}", f"text {i}", "s", "real") for i in range(n)]


def test_synthetic_share_grows_then_caps():
    assert [synthetic_share(g, 0.15, 0.4) for g in range(5)] == pytest.approx([0, 0.15, 0.3, 0.4, 0.4])


def test_web_mix_keeps_all_real_and_reaches_the_share():
    pool = [Document(f"s{i}", f"syn {i}", "s", "synthetic") for i in range(100)]
    mix = web_mix(real(30), pool, 0.25, random.Random(0))
    assert [d.id for d in mix[:30]] == [f"r{i}" for i in range(30)]
    assert len(mix) == 40 and all(d.origin == "synthetic" for d in mix[30:])
    assert len(web_mix(real(30), pool[:5], 0.5, random.Random(0))) == 35  # the pool runs out
    assert web_mix(real(3), pool, 0.0, random.Random(0)) == real(3)


def test_crawl_records_declare_the_truth_or_nothing():
    docs = real(200) + [Document(f"s{i}", "x y", "t", "synthetic") for i in range(200)]
    records = crawl_records(docs, 0.25, random.Random(1))
    undeclared = [r for r in records if "origin" not in r]
    assert 70 < len(undeclared) < 130
    assert all(r["origin"] == ("real" if r["id"].startswith("r") else "synthetic") for r in records if "origin" in r)
    assert records[0] == {"id": "r0", "text": "text 0", "module": "s", **({"origin": "real"} if "origin" in records[0] else {})}
    assert all("origin" in r for r in crawl_records(docs, 0.0, random.Random(1)))


def test_split_real_is_seeded_and_disjoint():
    train, heldout = split_real(real(50), 0.1, seed=3)
    assert len(heldout) == 5 and len(train) == 45
    assert not {d.id for d in train} & {d.id for d in heldout}
    assert split_real(list(reversed(real(50))), 0.1, seed=3) == (train, heldout)
    with pytest.raises(ValueError):
        split_real(real(1), 0.1, seed=0)


@pytest.mark.parametrize(
    "kwargs", [dict(generations=0), dict(policies=()), dict(top_p=1.5), dict(temperature=0), dict(share_step=0),
               dict(max_synthetic_share=1.0), dict(undeclared_share=2), dict(rare_max_count=0),
               dict(min_real_fraction=0), dict(real_fractions=(0.5, 1.2)), dict(real_fractions=(0.5, 0.5)),
               dict(seed_replicates=-1)]
)
def test_bad_configs_are_refused(kwargs):
    with pytest.raises(ValueError):
        SimulationConfig(**kwargs)


def test_cross_entropy_on_vocabulary_shares_the_unknown_probability():
    from curation.demo.ngram import NgramModel

    model = NgramModel(2).fit(["a b", "a b", "a c"])
    texts = ["a b", "a z"]
    vocabulary = frozenset({"a", "b", "c", "z", "y", "x"})  # the model does not know z, y, x
    expected = -(
        math.log(model.prob("a", []) * model.prob("b", ["a"]) * model.prob("</s>", ["b"]))
        + math.log(model.prob("a", []) * model.prob("z", ["a"]) / 3 * model.prob("</s>", ["z"]))
    ) / 6
    assert metrics.cross_entropy_on_vocabulary(model, texts, vocabulary) == pytest.approx(expected)
    # With nothing unknown in the vocabulary it is the model's own cross-entropy.
    assert metrics.cross_entropy_on_vocabulary(model, texts, frozenset({"a", "b", "c", "z"})) == pytest.approx(
        model.cross_entropy(texts)
    )
    with pytest.raises(ValueError):
        metrics.cross_entropy_on_vocabulary(model, [], vocabulary)
