import sys

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from curation.detection import preprocess


def tokens(text):
    return preprocess.token_lists([text])[0]


def test_newlines_and_whitespace_collapse_and_case_is_kept():
    assert tokens("One\n\ntwo\r\nthree\t FOUR") == ["One", "two", "three", "FOUR"]


def test_formatting_artefacts_give_the_same_tokens():
    # A tokenised corpus ('" Goodbye . "') and typeset text ('“Goodbye.”') read alike.
    assert tokens("\u201cGoodbye.\u201d I tell\u00a0her \u2014 twice") == tokens('" Goodbye . " I tell her - twice')


def test_nfkc_and_digits_fold():
    assert tokens("\ufb01ne \uff11\uff19\uff18\uff14 1984") == ["fine", "0000", "0000"]


def test_every_whitespace_character_and_nul_separate_words():
    # Python, Arrow and fastText (which also splits on NUL) must see the same words.
    spaces = [chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()] + ["\x00"]
    assert preprocess.token_lists([f"a{c}b" for c in spaces]) == [["a", "b"]] * len(spaces)


def test_underscore_is_punctuation_so_no_token_is_a_fasttext_label():
    assert tokens("__label__real snake_case") == ["_", "_", "label", "_", "_", "real", "snake", "_", "case"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(), max_size=5))
def test_tokens_are_words_without_whitespace_and_batch_independent(texts):
    lists = preprocess.token_lists(texts)
    assert lists == [tokens(text) for text in texts]
    for token in (token for words in lists for token in words):
        assert token and not any(c.isspace() or c == "\x00" for c in token)
        assert token == "|" or "|" not in token


def test_batch_tokens_offsets_delimit_each_text():
    tokens_, offsets = preprocess.batch_tokens(["a b", "", " \n", "c,"])
    assert tokens_.to_pylist() == ["a", "b", "c", ","]
    assert offsets.tolist() == [0, 2, 2, 2, 4]


def test_split_ngrams_inverts_features_even_for_the_joiner_word():
    words = ["a", "|", "bc", "|", "|", "d"]
    ngrams = preprocess.features(words, 4).split()[len(words) :]
    prefix, last = preprocess.split_ngrams(pa.array(ngrams + ["a", "|"], pa.large_string()))
    expected = [("|".join(g[:-1]), g[-1]) for n in (2, 3, 4) for g in zip(*(words[k:] for k in range(n)))]
    assert list(zip(prefix.to_pylist(), last.to_pylist())) == expected + [("", "a"), ("", "")]


def test_windows_cover_all_tokens_evenly_in_order():
    words = [f"w{i}" for i in range(130)]
    windows = preprocess.windows(words, 64)
    assert [len(w.split()) for w in windows] == [65, 65]
    assert " ".join(windows).split() == words


def test_short_and_empty_texts():
    assert preprocess.windows(["just", "a", "few", "words"], 64) == ["just a few words"]
    assert preprocess.windows([], 64) == []


def test_window_size_must_be_positive():
    with pytest.raises(ValueError, match="window_tokens"):
        preprocess.windows(["text"], 0)


def test_word_ngrams_become_tokens_within_a_window():
    assert preprocess.windows(["a", "b", "c"], 64, word_ngrams=3) == ["a b c a|b b|c a|b|c"]
    assert preprocess.windows(["a", "b", "c", "d"], 2, word_ngrams=2) == ["a b a|b", "c d c|d"]


def test_features_of_one_word_and_of_none():
    assert preprocess.features(["a"], 2) == "a"
    assert preprocess.features([], 2) == ""
