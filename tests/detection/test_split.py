import collections

from curation.detection.split import stratified_split
from tests.factories import generate_corpus


def test_split_is_stratified_complete_and_disjoint():
    docs = generate_corpus(400)
    split = stratified_split(docs, seed=1)
    parts = [split.train, split.validation, split.test]
    ids = [d.id for part in parts for d in part]
    assert sorted(ids) == sorted(d.id for d in docs)
    strata = collections.Counter((d.domain, d.label) for d in docs)
    for part, share in ((split.test, 0.15), (split.validation, 0.15)):
        counts = collections.Counter((d.domain, d.label) for d in part)
        for key, total in strata.items():
            assert counts[key] == round(total * share)


def test_split_ignores_input_order_and_depends_on_seed():
    docs = generate_corpus(200)
    first = stratified_split(docs, seed=1)
    assert first == stratified_split(docs[::-1], seed=1)
    assert first.test != stratified_split(docs, seed=2).test
