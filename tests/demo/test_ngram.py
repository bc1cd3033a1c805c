"""The n-gram model on small fixed inputs with known answers."""
import math
import random

import numpy as np
import pytest

from curation.demo.ngram import END, UNKNOWN, NgramModel, count_words, detokenize, tokenize

# A Zipf-like corpus: a few frequent words and a long tail of rare ones.
COMMON = ["the", "model", "reads", "a", "file", "and", "writes", "lines"]
RARE = [f"rare{i}" for i in range(60)]


def zipf_documents(n_docs=80, seed=0):
    rng = random.Random(seed)
    docs = []
    for _ in range(n_docs):
        words = [rng.choice(COMMON) if rng.random() < 0.9 else rng.choice(RARE) for _ in range(25)]
        docs.append(" ".join(words))
    return docs


@pytest.fixture(scope="module")
def model():
    return NgramModel(3).fit(zipf_documents())


def test_tokenize_keeps_line_breaks_and_detokenize_inverts_spacing():
    assert tokenize("Return x.\n\n  Use y, z") == ["Return", "x.", "\n", "\n", "Use", "y,", "z"]
    assert detokenize(["Return", "x.", "\n", "\n", "Use", "y,", "z"]) == "Return x.\n\nUse y, z"


@pytest.mark.parametrize("context", [(), ("the",), ("the", "model"), ("rare3", "rare4"), ("never", "seen")])
def test_next_token_probabilities_sum_to_one(model, context):
    total = sum(model.prob(w, context) for w in model.prediction_space())
    assert total == pytest.approx(1.0, abs=1e-9)


def test_unseen_words_share_the_unknown_probability(model):
    assert model.prob("zebra", ("the",)) == model.prob(UNKNOWN, ("the",)) > 0
    assert math.isfinite(model.perplexity(["zebra quagga the model"]))


def test_vocabulary_and_counts():
    model = NgramModel(2).fit(["a b a", "b c"])
    assert model.vocabulary == ("a", "b", "c")
    assert model.word_counts == {"a": 2, "b": 2, "c": 1}
    assert model.prediction_space() == ("a", "b", "c", END, UNKNOWN)


def test_bigram_kneser_ney_known_value():
    # Bigram "a b" x2, "a c" x1 after context a; continuation counts decide the unigram level.
    model = NgramModel(2).fit(["a b", "a b", "a c"])
    d2 = model._discounts[2]
    d1 = model._discounts[1]
    # Unigram continuation counts from bigram types {<s>a, ab, ac, b</s>, c</s>}:
    # a:1, b:1, c:1, </s>:2 over 5 types; uniform over 5 predictable tokens.
    p1_b = (1 - d1) / 5 + d1 * 4 / 5 / 5
    p_b_after_a = (2 - d2) / 3 + d2 * 2 / 3 * p1_b
    assert model.prob("b", ["a"]) == pytest.approx(p_b_after_a)


def test_training_text_is_more_likely_than_its_shuffle(model):
    docs = zipf_documents()
    rng = random.Random(1)
    shuffled = [" ".join(rng.sample(d.split(), len(d.split()))) for d in docs]
    assert model.cross_entropy(docs) < model.cross_entropy(shuffled)


def test_sample_has_exactly_the_requested_word_count(model):
    for n in (0, 1, 7, 300):
        assert count_words(model.sample(n, random.Random(n))) == n


def test_top_k_one_is_greedy_and_ignores_the_seed(model):
    greedy = model.sample(50, random.Random(1), top_k=1)
    assert greedy == model.sample(50, random.Random(2), top_k=1)
    assert greedy == model.sample(50, np.random.default_rng(3), top_k=1)


def test_sampling_is_seeded(model):
    assert model.sample(200, random.Random(5)) == model.sample(200, random.Random(5))
    assert model.sample(200, random.Random(5), top_p=0.8) == model.sample(200, random.Random(5), top_p=0.8)


def kept_weights(model, context, temperature, top_k, top_p):
    """The truncation's kept tokens and their (unnormalised) weights, spelt out."""
    truncation = model._truncation(context, temperature, top_k, top_p)
    seen = np.diff(np.concatenate([[0.0], truncation.seen_cumulative]))
    kept = dict(zip((model._words[i] for i in truncation.seen_ids.tolist()), seen))
    tempered, _, _ = model._tempered_base(temperature)
    for position in range(truncation.rest_end):
        if not truncation.rest.is_removed(position):
            kept[model._words[model._base_ids[position]]] = truncation.scale * tempered[position]
    return kept


@pytest.mark.parametrize("context_words", [(), ("the",), ("the", "model"), ("rare3", "rare4"), ("never", "seen")])
@pytest.mark.parametrize(
    "temperature, top_k, top_p", [(1.0, 5, None), (1.0, None, None), (0.9, None, 0.9), (0.7, 20, 0.95), (1.3, None, 0.5)]
)
def test_truncation_matches_brute_force(model, context_words, temperature, top_k, top_p):
    full = {w: model.prob(w, context_words) ** (1 / temperature) for w in model.prediction_space() if w != UNKNOWN}
    ranked = sorted(full.values(), reverse=True)
    cumulative = np.cumsum(ranked)
    size = len(ranked)
    if top_p is not None:
        size = min(size, int(np.searchsorted(cumulative, top_p * cumulative[-1], "left")) + 1)
    if top_k is not None:
        size = min(size, top_k)
    kept = kept_weights(model, model._context_ids(context_words), temperature, top_k, top_p)
    # Ties may be broken differently at the cut, so compare the kept weights, not the words.
    assert sorted(kept.values(), reverse=True) == pytest.approx(ranked[:size])
    assert all(kept[w] == pytest.approx(full[w]) for w in kept)


def test_truncated_draws_follow_the_kept_distribution(model):
    context = model._context_ids(("the",))
    kept = kept_weights(model, context, 0.9, None, 0.9)
    truncation = model._truncation(context, 0.9, None, 0.9)
    rng = random.Random(0)
    draws = [model._words[truncation.draw(model._base_ids, rng)] for _ in range(20000)]
    assert set(draws) <= set(kept)
    total = sum(kept.values())
    for word in sorted(kept, key=kept.get, reverse=True)[:5]:
        assert draws.count(word) / len(draws) == pytest.approx(kept[word] / total, abs=0.015)


def test_exact_sampler_follows_the_model_distribution(model):
    context_words = ("the", "model")
    context = model._context_ids(context_words)
    rng = random.Random(0)
    draws = [model._draw_exact(context, rng) for _ in range(20000)]
    frequent = max(set(draws), key=draws.count)
    word = model._words[frequent]
    expected = model.prob(word, context_words) / (1 - model.prob(UNKNOWN, context_words))
    assert draws.count(frequent) / len(draws) == pytest.approx(expected, abs=0.015)


def test_truncated_sampling_loses_the_tail(model):
    untruncated = set(model.sample(3000, random.Random(0)).split())
    truncated = set(model.sample(3000, random.Random(0), top_k=3).split())
    cold = set(model.sample(3000, random.Random(0), temperature=0.5, top_p=0.9).split())
    assert len(untruncated & set(RARE)) > 30
    assert not truncated & set(RARE)
    assert len(cold & set(RARE)) < len(untruncated & set(RARE)) / 3


def test_recursive_training_on_truncated_samples_shrinks_the_vocabulary():
    docs = zipf_documents()
    sizes = []
    for generation in range(3):
        model = NgramModel(3).fit(docs)
        sizes.append(len(model.vocabulary))
        rng = random.Random(generation)
        docs = [model.sample(25, rng, top_p=0.8) for _ in range(80)]
    assert sizes[0] > sizes[1] >= sizes[2]


@pytest.mark.parametrize(
    "kwargs",
    [dict(temperature=0), dict(top_k=0), dict(top_k=1.5), dict(top_p=0), dict(top_p=1.5)],
)
def test_bad_sampling_settings_are_refused(model, kwargs):
    with pytest.raises(ValueError):
        model.sample(5, random.Random(0), **kwargs)


def test_unfitted_model_and_empty_training_are_refused():
    with pytest.raises(RuntimeError):
        NgramModel().prob("a")
    with pytest.raises(ValueError):
        NgramModel().fit(["", "   "])
    with pytest.raises(ValueError):
        NgramModel(order=1)
