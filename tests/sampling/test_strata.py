import json

import pytest

from curation.sampling.strata import (
    MISSING,
    stratum_keys,
    topic_label,
    validate_stratum_fields,
    word_count_bucket,
)
from curation.sampling.topics import fit_topic_model


@pytest.mark.parametrize(
    "words, bucket",
    [
        (0, "0-15"),
        (15, "0-15"),
        (16, "16-31"),
        (31, "16-31"),
        (32, "32-63"),
        (256, "256-511"),
        (511, "256-511"),
        (65535, "32768-65535"),
        (65536, "65536+"),
        (10**9, "65536+"),
    ],
)
def test_word_count_bucket_edges(words, bucket):
    assert word_count_bucket(words) == bucket


def stratum_key(rec, fields, **options):
    return stratum_keys([rec], fields, **options)[0]


def record(text="one two three", source="mail", **metadata):
    return {"text": text, "source": source, "declared_origin": None, "metadata": json.dumps(metadata)}


def test_key_reads_columns_then_metadata_then_placeholder():
    rec = record(text=" ".join(["w"] * 300), language="en", year=2021, tags=["a", "b"])
    key = stratum_key(rec, ["source", "language", "year", "tags", "topic_hint", "declared_origin"])
    assert key == (
        f'source=mail|language=en|year=2021|tags=["a", "b"]|topic_hint={MISSING}'
        f"|declared_origin={MISSING}|len=256-511"
    )


def test_key_without_built_in_parts_and_bad_metadata():
    rec = {"text": "x", "source": "web", "metadata": "not json"}
    assert stratum_key(rec, ["source", "language"], length_bucket=False) == f"source=web|language={MISSING}"
    assert stratum_key(rec, [], length_bucket=False) == ""


def test_values_are_escaped_so_keys_split_back():
    rec = record(source="a|b=c%\nd")
    key = stratum_key(rec, ["source"], length_bucket=False)
    assert key == "source=a%7Cb%3Dc%25%0Ad"
    assert key.split("|") == [key]


def test_topic_part_uses_the_model():
    texts = [f"apple banana cherry fruit {i}" for i in range(20)] + [
        f"engine wheel brake car {i}" for i in range(20)
    ]
    model = fit_topic_model(texts, 2, seed=1)
    fruit = stratum_key(record(text="banana cherry apple"), ["source"], topic_model=model)
    car = stratum_key(record(text="brake wheel engine"), ["source"], topic_model=model)
    assert fruit.startswith("source=mail|len=0-15|topic=0")
    assert {fruit[-2:], car[-2:]} == {"00", "01"}


def test_topic_label_width():
    assert topic_label(7, 16) == "07"
    assert topic_label(7, 101) == "007"


@pytest.mark.parametrize("fields", [["a", "a"], ["len"], ["topic"], ["a|b"], ["x=y"], [""], [" a"]])
def test_ambiguous_field_names_are_rejected(fields):
    with pytest.raises(ValueError):
        validate_stratum_fields(fields)


def test_valid_field_names_pass():
    validate_stratum_fields(["source", "language", "meta.lang"])


def test_a_records_key_does_not_depend_on_its_batch():
    texts = [f"apple banana cherry fruit {i}" for i in range(20)] + [f"engine wheel brake car {i}" for i in range(20)]
    model = fit_topic_model(texts, 2, seed=1)
    records = [record(text=t * (i % 3 + 1), source=f"s{i % 2}") for i, t in enumerate(texts)] + [record(text="")]
    together = stratum_keys(records, ["source"], topic_model=model)
    assert together == [stratum_key(r, ["source"], topic_model=model) for r in records]
    assert stratum_keys(records[::-1], ["source"], topic_model=model) == together[::-1]
    assert stratum_keys([], ["source"], topic_model=model) == []
