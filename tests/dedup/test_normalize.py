"""Text normalisation shared by exact and near dedup. (no Beam)"""


import pytest

from curation.dedup.normalize import TextNormalization, normalize_text


def test_normalize_nfkc_lower_punctuation_whitespace():
    assert normalize_text("  Don't — “STOP”!\n\tＡＢＣ  ﬁne ") == "dont stop abc fine"


def test_normalize_keeps_combining_marks_and_symbols():
    assert normalize_text("नमस्ते, 5$+3") == "नमस्ते 5$+3"


def test_normalize_options_can_be_switched_off():
    raw = TextNormalization(unicode_form=None, lowercase=False, strip_punctuation=False)
    assert normalize_text("A,  ﬁ", raw) == "A, ﬁ"


def test_normalization_rejects_unknown_form():
    with pytest.raises(ValueError, match="unicode_form"):
        TextNormalization(unicode_form="NFX")
