"""The one text preprocessing shared by detector training and scoring.

Anything that changes what these functions return changes what a trained model
sees: bump PREPROCESSING_VERSION, which model.json records and Detector checks.
"""

from __future__ import annotations

import unicodedata
from typing import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

PREPROCESSING_VERSION = "3"

# Typographic variants carry the source's formatting conventions, not authorship
# (the dev data's human sources were normalised to ASCII quotes, its generators
# emit curly ones: unfolded, they alone lift in-domain AUROC by 0.04, an artefact).
# Fold them to one form. Digits fold to 0 so numbers do not become topic features.
# Case is kept: generators differ in casing habits. Folding is a chain of
# str.replace: several times faster than str.translate with a mapping.
# Whitespace outside ASCII's that NFKC keeps (and NUL, which fastText splits on)
# becomes a space: a token is then one word to Python, Arrow and fastText alike.
_TYPOGRAPHY = tuple(
    [(c, '"') for c in "\u201c\u201d\u201e\u201f\u00ab\u00bb\u2033"]
    + [(c, "'") for c in "\u2018\u2019\u201a\u201b\u2032\u00b4"]
    + [(c, "-") for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"]
    + [(c, " ") for c in "\u0085\u1680\u2028\u2029"]
)
_ASCII_FOLDS = (("`", "'"),) + tuple((d, "0") for d in "123456789") + tuple((c, " ") for c in "\x00\x1c\x1d\x1e\x1f")
# One RE2 pass over a whole batch (Arrow) puts spaces around every character that
# is not a letter, a number or whitespace, making it a token of its own: "word," /
# "word ," and '"Goodbye."' / '" Goodbye . "' give the same tokens. "_" is such a
# character too, so no token starts with fastText's label prefix "__label__".
_PUNCTUATION = r"[^\pL\pN\s]"
# Joins the words of an n-gram token; tokens never contain it (punctuation is split off).
_NGRAM_JOINER = "|"


def _fold(text: str) -> str:
    folded = text
    if not text.isascii():  # ASCII text is already NFKC and has no typographic variants
        folded = unicodedata.normalize("NFKC", text)
        for variant, plain in _TYPOGRAPHY:
            folded = folded.replace(variant, plain)
    for variant, plain in _ASCII_FOLDS:
        folded = folded.replace(variant, plain)
    return folded


def batch_tokens(texts: Sequence[str]) -> tuple[pa.Array, np.ndarray]:
    """The texts' normalised tokens, concatenated, and offsets: text i's are tokens[offsets[i] : offsets[i + 1]].

    NFKC, typography and digits folded, punctuation split off, case kept.
    Vectorised over the batch (Arrow): call it with many texts at once, as
    compiling the pattern costs a few milliseconds per call. Tokens never
    contain whitespace, so they are safe in a fastText line.
    """
    folded = pa.array([_fold(text) for text in texts], pa.large_string())
    lists = pc.ascii_split_whitespace(pc.replace_substring_regex(folded, _PUNCTUATION, r" \0 "))
    tokens = lists.flatten()
    nonempty = pc.greater(pc.binary_length(tokens), 0)  # the split leaves "" at the ends
    text_index = pc.list_parent_indices(lists).to_numpy()[nonempty.to_numpy(zero_copy_only=False)]
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(np.bincount(text_index, minlength=len(texts)), out=offsets[1:])
    return tokens.filter(nonempty), offsets


def token_lists(texts: Sequence[str]) -> list[list[str]]:
    """Each text's normalised tokens (see batch_tokens)."""
    tokens, offsets = batch_tokens(texts)
    words = tokens.to_pylist()
    return [words[start:end] for start, end in zip(offsets[:-1], offsets[1:])]


def features(words: list[str], word_ngrams: int) -> str:
    """The words followed by their n-grams up to ``word_ngrams`` ("a|b"), as one fastText line.

    The n-grams are explicit tokens so that fastText needs no hashed n-gram
    buckets (see classifier.py for why); fastText's model is a bag, so order is free.
    """
    if word_ngrams < 1:
        raise ValueError(f"word_ngrams must be >= 1, got {word_ngrams}")
    parts = [" ".join(words)]
    for n in range(2, word_ngrams + 1):
        parts.append(" ".join(map(_NGRAM_JOINER.join, zip(*(words[k:] for k in range(n))))))
    return " ".join(part for part in parts if part)


def split_ngrams(tokens: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Each n-gram token of ``features`` split into its (n-1)-gram and last word; a word has no (n-1)-gram ("").

    Words never contain the joiner but may be it: an n-gram ending in the word
    "|" ends in "||".
    """
    joiner = pa.scalar(_NGRAM_JOINER, tokens.type)
    # With a joiner in front, every token splits in two at its last joiner.
    halves = pc.split_pattern(
        pc.binary_join_element_wise(joiner, tokens, pa.scalar("", tokens.type)),
        _NGRAM_JOINER,
        max_splits=1,
        reverse=True,
    )
    prefix, last = pc.utf8_slice_codeunits(pc.list_element(halves, 0), 1), pc.list_element(halves, 1)
    ends_in_joiner_word = pc.and_(pc.equal(last, ""), pc.ends_with(prefix, _NGRAM_JOINER))
    return (
        pc.if_else(ends_in_joiner_word, pc.utf8_slice_codeunits(prefix, 0, -1), prefix),
        pc.if_else(ends_in_joiner_word, joiner, last),
    )


def windows(words: list[str], window_tokens: int, word_ngrams: int = 1) -> list[str]:
    """Training lines: a text's tokens cut into consecutive windows of about ``window_tokens``.

    Many fixed-size examples per document train better than one per document;
    the tokens are spread evenly, so no window is a short tail. Each window
    carries its own n-grams. No tokens: no windows.
    """
    if window_tokens < 1:
        raise ValueError(f"window_tokens must be >= 1, got {window_tokens}")
    count = max(1, round(len(words) / window_tokens)) if words else 0
    return [
        features(words[i * len(words) // count : (i + 1) * len(words) // count], word_ngrams) for i in range(count)
    ]
