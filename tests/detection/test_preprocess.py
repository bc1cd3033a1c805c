import pytest

from curation.detection import preprocess


def test_newlines_and_whitespace_collapse_and_case_is_kept():
    assert preprocess.tokens("One\n\ntwo\r\nthree\t FOUR") == ["One", "two", "three", "FOUR"]


def test_formatting_artefacts_give_the_same_tokens():
    # A tokenised corpus ('" Goodbye . "') and typeset text ('“Goodbye.”') read alike.
    assert preprocess.tokens("\u201cGoodbye.\u201d I tell\u00a0her \u2014 twice") == preprocess.tokens(
        '" Goodbye . " I tell her - twice'
    )


def test_nfkc_and_digits_fold():
    assert preprocess.tokens("\ufb01ne \uff11\uff19\uff18\uff14 1984") == ["fine", "0000", "0000"]


def test_windows_cover_all_tokens_evenly_in_order():
    text = " ".join(f"w{i}" for i in range(130))
    windows = preprocess.windows(text, 64)
    assert [len(w.split()) for w in windows] == [65, 65]
    assert " ".join(windows).split() == preprocess.tokens(text)


def test_short_and_empty_texts():
    assert preprocess.windows("just a few words", 64) == ["just a few words"]
    assert preprocess.windows(" \n ", 64) == []


def test_windows_never_contain_newlines():
    assert all("\n" not in w for w in preprocess.windows("a\nb\n" * 100, 16))


def test_window_size_must_be_positive():
    with pytest.raises(ValueError, match="window_tokens"):
        preprocess.windows("text", 0)


def test_word_ngrams_become_tokens_within_a_window():
    assert preprocess.windows("a b c", 64, word_ngrams=3) == ["a b c a|b b|c a|b|c"]
    assert preprocess.windows("a b c d", 2, word_ngrams=2) == ["a b a|b", "c d c|d"]


def test_features_of_one_word_and_of_none():
    assert preprocess.features(["a"], 2) == "a"
    assert preprocess.features([], 2) == ""
