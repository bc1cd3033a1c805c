"""The one text preprocessing shared by detector training and scoring.

Anything that changes what these functions return changes what a trained model
sees: bump PREPROCESSING_VERSION, which model.json records and Detector checks.
"""

from __future__ import annotations

import re
import unicodedata

PREPROCESSING_VERSION = "2"

# Typographic variants carry the source's formatting conventions, not authorship
# (the dev data's human sources were normalised to ASCII quotes, its generators
# emit curly ones: unfolded, they alone lift in-domain AUROC by 0.04, an artefact).
# Fold them to one form. Digits fold to 0 so numbers do not become topic features.
# Case is kept: generators differ in casing habits. Folding is a chain of
# str.replace: several times faster than str.translate with a mapping.
_TYPOGRAPHY = tuple(
    [(c, '"') for c in "\u201c\u201d\u201e\u201f\u00ab\u00bb\u2033"]
    + [(c, "'") for c in "\u2018\u2019\u201a\u201b\u2032\u00b4"]
    + [(c, "-") for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"]
)
_ASCII_FOLDS = (("`", "'"),) + tuple((d, "0") for d in "123456789")
# Punctuation becomes its own token, so "word," / "word ," and '"Goodbye."' /
# '" Goodbye . "' (tokenised corpora) give identical token streams.
_PUNCTUATION = re.compile(r"[^\w\s]")
# Joins the words of an n-gram token; tokens never contain it (punctuation is split off).
_NGRAM_JOINER = "|"


def tokens(text: str) -> list[str]:
    """Normalised tokens: NFKC, typography and digits folded, punctuation split, case kept.

    Splitting on any whitespace also removes newlines, which fastText rejects.
    """
    folded = text
    if not text.isascii():  # ASCII text is already NFKC and has no typographic variants
        folded = unicodedata.normalize("NFKC", text)
        for variant, plain in _TYPOGRAPHY:
            folded = folded.replace(variant, plain)
    for variant, plain in _ASCII_FOLDS:
        folded = folded.replace(variant, plain)
    # A callable replacement is faster here than a group template ("\\1").
    return _PUNCTUATION.sub(lambda match: f" {match.group()} ", folded).split()


def features(words: list[str], word_ngrams: int) -> str:
    """The words followed by their n-grams up to ``word_ngrams`` ("a|b"), as one fastText line.

    The n-grams are explicit tokens so that fastText needs no hashed n-gram
    buckets (see model.py for why); fastText's model is a bag, so order is free.
    """
    if word_ngrams < 1:
        raise ValueError(f"word_ngrams must be >= 1, got {word_ngrams}")
    parts = [" ".join(words)]
    for n in range(2, word_ngrams + 1):
        parts.append(" ".join(map(_NGRAM_JOINER.join, zip(*(words[k:] for k in range(n))))))
    return " ".join(part for part in parts if part)


def windows(text: str, window_tokens: int, word_ngrams: int = 1) -> list[str]:
    """Training lines: the text's tokens cut into consecutive windows of about ``window_tokens``.

    Many fixed-size examples per document train better than one per document;
    the tokens are spread evenly, so no window is a short tail. Each window
    carries its own n-grams. Empty text: no windows.
    """
    if window_tokens < 1:
        raise ValueError(f"window_tokens must be >= 1, got {window_tokens}")
    words = tokens(text)
    count = max(1, round(len(words) / window_tokens)) if words else 0
    return [
        features(words[i * len(words) // count : (i + 1) * len(words) // count], word_ngrams) for i in range(count)
    ]
