import math
from collections import Counter

import numpy as np
import pytest

from curation.sampling import topics
from curation.sampling.tokens import word_tokens
from curation.sampling.topics import TopicModel, hashed_term_weights, pair_hashes, word_hash, fit_topic_model

VOCABULARIES = {
    "sport": "football match goal team player score league coach season referee".split(),
    "cooking": "recipe oven flour sugar bake butter salt dinner pan simmer".split(),
    "software": "python function variable compile bug code test deploy server api".split(),
}


def corpus():
    """60 documents per topic: disjoint vocabularies, shuffled word choices."""
    texts = []
    for topic, words in sorted(VOCABULARIES.items()):
        for i in range(60):
            texts.append(" ".join(words[(i * 7 + j * (i % 5 + 1)) % len(words)] for j in range(25)))
    return texts


def test_separable_topics_are_recovered():
    texts = corpus()
    model = fit_topic_model(texts, 3, seed=11)
    labels = model.assign(texts)
    per_topic = [Counter(labels[i * 60 : (i + 1) * 60]) for i in range(3)]
    assert all(len(c) == 1 for c in per_topic)
    assert {next(iter(c)) for c in per_topic} == {0, 1, 2}


def test_fit_is_deterministic_and_order_independent():
    texts = corpus()
    first = fit_topic_model(texts, 3, seed=5).to_bytes()
    assert fit_topic_model(reversed(texts), 3, seed=5).to_bytes() == first


def test_serialisation_round_trip():
    texts = corpus()
    model = fit_topic_model(texts, 3, seed=5, dims=256)
    restored = TopicModel.from_bytes(model.to_bytes())
    assert restored.to_bytes() == model.to_bytes()
    assert (restored.num_topics, restored.dims, restored.seed) == (3, 256, 5)
    assert restored.assign(texts) == model.assign(texts)


def test_bounded_sample_and_few_distinct_documents():
    model = fit_topic_model(["same words here"] * 50 + ["other words"] * 50, 8, seed=2, max_documents=10)
    assert 1 <= model.num_topics <= 2


def test_text_without_words_is_topic_zero():
    model = fit_topic_model(corpus(), 3, seed=1)
    assert model.assign(["... !!! ---", ""]) == [0, 0]
    assert model.assign([]) == []


@pytest.mark.parametrize(
    "kwargs", [dict(num_topics=0), dict(dims=1000), dict(dims=2**39), dict(texts=["?!", ""])]
)
def test_invalid_fits_raise(kwargs):
    args = dict(texts=["a b c"], num_topics=2, seed=0) | kwargs
    with pytest.raises(ValueError):
        fit_topic_model(**args)


def test_foreign_payload_is_rejected():
    with pytest.raises(ValueError, match="curation.topic_model"):
        TopicModel.from_bytes(b'{"format": "other"}')


def reference_term_weights(tokens, seed, dims):
    """One document's hashed weights, written the plain way: {bucket: weight}."""
    hashes = [word_hash(w, seed) for w in tokens]
    pairs = [int(pair_hashes(np.array([a], np.uint64), np.array([b], np.uint64))[0]) for a, b in zip(hashes, hashes[1:])]
    weights = {}
    for ngram, count in sorted(Counter(h % 2**40 for h in hashes + pairs).items()):
        sign = 1.0 if ngram >> 39 else -1.0
        weights[ngram % dims] = weights.get(ngram % dims, 0.0) + sign * (1.0 + math.log(count))
    return {b: w for b, w in weights.items() if w != 0.0}


def test_batched_term_weights_match_each_document_alone():
    texts = ["the cat sat on the mat", "", "mat the cat", "one", "the the the cat cat", "!!!", "cat sat on"]
    tokens = [word_tokens(t) for t in texts]
    batch = hashed_term_weights(tokens, 3, 64)  # few buckets: collisions and cancellations occur
    for row, doc_tokens in enumerate(tokens):
        mine = batch.rows == row
        assert dict(zip(batch.columns[mine].tolist(), batch.values[mine].tolist())) == pytest.approx(
            reference_term_weights(doc_tokens, 3, 64)
        )
    alone = [hashed_term_weights([t], 3, 64) for t in tokens]
    assert np.concatenate([a.values for a in alone]).tolist() == batch.values.tolist()


def test_a_documents_topic_does_not_depend_on_its_batch():
    texts = corpus()
    model = fit_topic_model(texts, 3, seed=4)
    assert model.assign(texts) == [model.assign([t])[0] for t in texts] == model.assign(texts[::-1])[::-1]


def test_fitting_in_chunks_gives_the_same_model(monkeypatch):
    texts = corpus() + ["", "!!!"]  # documents without words are left out in every chunk
    whole = fit_topic_model(texts, 3, seed=8).to_bytes()
    monkeypatch.setattr(topics, "_CHUNK", 7)
    assert fit_topic_model(texts, 3, seed=8).to_bytes() == whole
