"""ExactDedupOptions and NearDedupOptions validate themselves. (no Beam)"""


import pytest

from curation.dedup.options import ExactDedupOptions, NearDedupOptions


@pytest.mark.parametrize("field,value,message", [
    ("threshold", 1.0, "threshold"), ("ngram_size", 0, "ngram_size"), ("num_perm", 8, "num_perm"),
    ("verification", "fuzzy", "verification"), ("all_pairs_bucket_limit", 1, "all_pairs_bucket_limit"),
    ("band_shards", 0, "band_shards"),
    ("component_rounds", -1, "component_rounds"), ("max_unconverged_links", -1, "max_unconverged_links"),
    ("survivor_policy", ("newest",), "newest"), ("survivor_rounds", 0, "survivor_rounds"),
    ("max_members_in_memory", 1, "max_members_in_memory"),
])
def test_near_options_are_validated(field, value, message):
    with pytest.raises(ValueError, match=message):
        NearDedupOptions(**{field: value})


def test_exact_options_policy_is_validated():
    with pytest.raises(ValueError, match="tuple"):
        ExactDedupOptions(survivor_policy=["longest_text"])
