"""The one text preprocessing shared by detector training and scoring.

Anything that changes what these functions return changes what a trained model
sees: bump PREPROCESSING_VERSION, which model.json records and Detector checks.
"""

from __future__ import annotations

import re
import unicodedata

PREPROCESSING_VERSION = "1"

# Typographic variants carry the source's formatting conventions, not authorship:
# fold them to one form. Digits fold to 0 so numbers do not become topic features.
_FOLD = str.maketrans(
    {
        **{c: '"' for c in "\u201c\u201d\u201e\u201f\u00ab\u00bb\u2033"},
        **{c: "'" for c in "\u2018\u2019\u201a\u201b\u2032`\u00b4"},
        **{c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"},
        **{c: "0" for c in "123456789"},
    }
)
# Punctuation becomes its own token, so "word," / "word ," and '"Goodbye."' /
# '" Goodbye . "' (tokenised corpora) give identical token streams.
_PUNCTUATION = re.compile(r"([^\w\s])")
# Joins the words of an n-gram token; tokens never contain it (punctuation is split off).
_NGRAM_JOINER = "|"


def tokens(text: str) -> list[str]:
    """Normalised tokens: NFKC, lower-cased, typography and digits folded, punctuation split.

    Splitting on any whitespace also removes newlines, which fastText's predict rejects.
    """
    folded = unicodedata.normalize("NFKC", text).lower().translate(_FOLD)
    return _PUNCTUATION.sub(r" \1 ", folded).split()


def windows(text: str, window_tokens: int, word_ngrams: int = 1) -> list[str]:
    """The text's tokens cut into consecutive windows of about ``window_tokens`` each.

    Windows are scored separately and their log-odds averaged: a fixed size keeps
    fastText's probabilities off their saturation point on long documents. The
    tokens are spread evenly, so no window is a short tail. Empty text: no windows.

    With ``word_ngrams`` > 1 each window also carries its n-grams as tokens
    ("a|b"), so fastText needs no hashed n-gram buckets (see model.py for why).
    """
    if window_tokens < 1 or word_ngrams < 1:
        raise ValueError(f"window_tokens and word_ngrams must be >= 1, got {window_tokens}, {word_ngrams}")
    words = tokens(text)
    count = max(1, round(len(words) / window_tokens)) if words else 0
    chunks = [words[i * len(words) // count : (i + 1) * len(words) // count] for i in range(count)]
    return [" ".join(_with_ngrams(chunk, word_ngrams)) for chunk in chunks]


def _with_ngrams(words: list[str], word_ngrams: int) -> list[str]:
    features = list(words)
    for n in range(2, word_ngrams + 1):
        features.extend(map(_NGRAM_JOINER.join, zip(*(words[k:] for k in range(n)))))
    return features
