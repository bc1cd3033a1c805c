"""The vectorised scorer against fastText's own sentence vector, and the scoring traps, each
pinned: single-text scoring under numpy 2, newlines, and no saturation ties on long documents."""

import collections
import dataclasses

import numpy as np
import pytest

from curation.detection import metrics
from curation.detection import preprocess
from curation.detection.classifier import train_model
from curation.detection.detector import Detector
from curation.detection.scorer import LinearScorer, score_texts
from tests.factories import FAST_CONFIG


@pytest.fixture(scope="module")
def dev_model(dev_docs):
    """A model of real text: half the dev sample."""
    return train_model(dev_docs[::2], FAST_CONFIG, seed=1)


def _sentence_vector_log_odds(model, texts, word_ngrams):
    """The reference: fastText's get_sentence_vector of each feature line, on the label rows' difference."""
    labels, output = model.get_labels(), model.get_output_matrix().astype(np.float64)
    direction = output[labels.index("__label__synthetic")] - output[labels.index("__label__real")]
    lines = [preprocess.features(words, word_ngrams) for words in preprocess.token_lists(texts)]
    return np.array([model.get_sentence_vector(line) @ direction if line else 0.0 for line in lines])


def test_log_odds_agree_with_fasttext_predict_where_it_does_not_saturate(trained, corpus):
    detector = Detector.load(trained[0])
    texts = [" ".join(d.text.split()[:12]) for d in corpus[:20]]
    lines = [preprocess.features(words, detector.config.word_ngrams) for words in preprocess.token_lists(texts)]
    labels, probabilities = detector.model.predict(lines, k=2)
    synthetic = np.array([p[list(label).index("__label__synthetic")] for label, p in zip(labels, probabilities)])
    unsaturated = (synthetic > 0.01) & (synthetic < 0.99)
    assert unsaturated.sum() >= 10
    expected = np.log(synthetic) - np.log1p(-synthetic)
    computed = detector.scorer.log_odds(texts)
    assert np.allclose(computed[unsaturated], expected[unsaturated], atol=1e-3)


EDGE_TEXTS = ["", " \n ", "zzqx vvbn", "a | b || c |", "__label__real x", "\u201cQuoted\u201d, 1984!", "x"]


def test_log_odds_equal_fasttext_sentence_vectors(trained, corpus):
    """Known words and n-grams and the end-of-line token count, unknown ones do not."""
    detector = Detector.load(trained[0])
    texts = [d.text for d in corpus] + EDGE_TEXTS
    expected = _sentence_vector_log_odds(detector.model, texts, detector.config.word_ngrams)
    # fastText sums in float32, the scorer in float64.
    np.testing.assert_allclose(detector.scorer.log_odds(texts), expected, rtol=1e-6, atol=1e-5)


def test_log_odds_equal_fasttext_sentence_vectors_on_real_text(dev_model, dev_docs):
    texts = [d.text for d in dev_docs[1::2]] + EDGE_TEXTS
    for word_ngrams in (1, 2, 3):  # the model has no trigrams: they are all unknown
        expected = _sentence_vector_log_odds(dev_model, texts, word_ngrams)
        computed = LinearScorer(dev_model, word_ngrams).log_odds(texts)
        np.testing.assert_allclose(computed, expected, rtol=1e-6, atol=1e-5)


def test_log_odds_equal_fasttext_sentence_vectors_with_trigrams(corpus):
    config = dataclasses.replace(FAST_CONFIG, word_ngrams=3)
    model = train_model(corpus, config, seed=2)
    assert any(word.count("|") == 2 for word in model.get_words())
    texts = [d.text for d in corpus] + EDGE_TEXTS
    expected = _sentence_vector_log_odds(model, texts, 3)
    np.testing.assert_allclose(LinearScorer(model, 3).log_odds(texts), expected, rtol=1e-6, atol=1e-5)


def test_a_text_scores_the_same_alone_and_in_any_batch(trained, corpus):
    detector = Detector.load(trained[0])
    texts = [d.text for d in corpus]
    together = detector.score(texts).tolist()
    assert detector.score(texts[2:3]).tolist() == together[2:3]
    assert sum((detector.score(texts[i : i + 7]).tolist() for i in range(0, len(texts), 7)), []) == together
    detector.scorer.BATCH = 16  # the scorer's own batches
    assert detector.score(texts).tolist() == together


def test_newlines_are_handled(trained):
    detector = Detector.load(trained[0])
    scores = detector.score(["Line one of it.\nLine two\r\nand three.", "Line one of it. Line two and three."])
    assert scores[0] == scores[1]


def test_empty_text_scores_one_half(trained):
    assert Detector.load(trained[0]).score([" \n"]).tolist() == [0.5]


def test_long_documents_do_not_saturate_into_ties(trained, corpus):
    detector = Detector.load(trained[0])
    by_label = {True: [], False: []}
    for doc in corpus:
        by_label[doc.is_synthetic].append(doc.text)
    # Thirty-document concatenations: thousands of words each.
    long_docs = [(label, " ".join(texts[i : i + 30])) for label, texts in by_label.items() for i in range(0, 60, 6)]
    scores = detector.score([text for _, text in long_docs])
    assert len(set(scores.tolist())) == len(long_docs)
    assert np.all((scores > 0) & (scores < 1))
    assert metrics.auroc([label for label, _ in long_docs], scores) > 0.5


def test_long_dev_documents_keep_a_ranking(dev_model, dev_docs):
    """On real text, too: long concatenations (same domain and label) stay ranked."""
    groups = collections.defaultdict(list)
    for doc in dev_docs[1::2]:
        groups[(doc.domain, doc.is_synthetic)].append(doc.text)
    long_docs = [
        (is_synthetic, " ".join(texts[i : i + 5]))
        for (_, is_synthetic), texts in sorted(groups.items())
        for i in range(0, len(texts) - 4, 5)
    ]
    scores = score_texts(dev_model, [text for _, text in long_docs], FAST_CONFIG)
    assert len(set(scores.tolist())) == len(long_docs)
    assert metrics.auroc([label for label, _ in long_docs], scores) > 0.5
