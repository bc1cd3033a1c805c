"""The manifest's funnel, derived from the removal tables' reasons."""

import pytest

from curation.provenance.manifest import funnel_counts

FILES = [{"uri": "a", "records": 10}, {"uri": "b", "records": 5}]
REASONS = {
    "rejected": {"invalid_json": 2, "empty_text": 1},
    "duplicates": {"exact": 3, "near": 2},
    "not_selected": {"over_quota": 4, "ratio_floor": 1},
}


def test_each_stage_is_the_one_before_less_its_removal():
    funnel = {
        "valid": None,
        "after_exact_dedup": ("duplicates", "exact"),
        "after_near_dedup": ("duplicates", "near"),
        "selected": ("not_selected", None),
        "output": None,
    }
    assert funnel_counts(funnel, FILES, REASONS) == {
        "valid": 12, "after_exact_dedup": 9, "after_near_dedup": 7, "selected": 2, "output": 2,
    }


def test_a_removal_with_no_rows_removes_nothing():
    funnel = {"valid": None, "after_near_dedup": ("duplicates", "near"), "selected": ("not_selected", None)}
    assert funnel_counts(funnel, FILES, {"rejected": {}}) == {"valid": 15, "after_near_dedup": 15, "selected": 15}


def test_the_first_stage_cannot_remove_anything():
    with pytest.raises(ValueError, match="first stage 'valid'"):
        funnel_counts({"valid": ("duplicates", None)}, FILES, REASONS)
