"""Word shingles and their documented hashes. (no Beam)"""


from hypothesis import given, settings
from hypothesis import strategies as st

from curation.dedup.shingles import shingle_hash32, shingle_hashes, shingles


def test_short_text_is_one_shingle_and_empty_has_none():
    assert shingles("a b c", 5) == ["a b c"]
    assert shingles("a b c d e f", 5) == ["a b c d e", "b c d e f"]
    assert shingles("", 5) == []
    assert shingle_hashes("", 5).size == 0


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=6).map(lambda w: "".join(w.split()) or "x"), max_size=20),
       st.integers(1, 6))
def test_vectorised_shingle_hashes_equal_the_reference(words, ngram):
    normalized = " ".join(words)
    expected = [shingle_hash32(s) for s in shingles(normalized, ngram)]
    assert shingle_hashes(normalized, ngram).tolist() == expected
