import math

import pytest

from curation.origin.core import UndecidedOriginError, decide_origin, decided_record, require_decided
from curation.origin.options import OriginOptions
from curation.schema import Origin, OriginBasis


@pytest.mark.parametrize(
    "declared, score, real_below, assume, expected",
    [
        # A declaration wins over the detector and the assumption.
        ("real", 0.99, 0.5, "synthetic", (Origin.REAL, OriginBasis.DECLARED)),
        ("synthetic", 0.01, 0.5, "real", (Origin.SYNTHETIC, OriginBasis.DECLARED)),
        (Origin.REAL, None, None, None, (Origin.REAL, OriginBasis.DECLARED)),
        # The detector: strictly below the threshold is real, the threshold itself is not.
        (None, 0.49, 0.5, None, (Origin.REAL, OriginBasis.DETECTOR)),
        (None, 0.5, 0.5, None, (Origin.SYNTHETIC, OriginBasis.DETECTOR)),
        (None, 0.9, 0.5, "real", (Origin.SYNTHETIC, OriginBasis.DETECTOR)),
        (None, math.nan, 0.5, "real", (Origin.SYNTHETIC, OriginBasis.DETECTOR)),
        # No usable score: the user's assumption.
        (None, None, 0.5, "real", (Origin.REAL, OriginBasis.ASSUMED)),
        (None, 0.1, None, "synthetic", (Origin.SYNTHETIC, OriginBasis.ASSUMED)),
    ],
)
def test_origin_rule(declared, score, real_below, assume, expected):
    assert decide_origin(declared, score, real_below, assume) == expected


def test_results_compare_equal_to_the_stored_strings():
    origin, basis = decide_origin(None, 0.1, 0.5)
    assert (origin.value, basis.value) == ("real", "detector")


@pytest.mark.parametrize("score, real_below", [(None, None), (0.2, None), (None, 0.5)])
def test_undecided_record_raises_with_the_options(score, real_below):
    with pytest.raises(UndecidedOriginError, match="--detector.*--assume-origin"):
        decide_origin(None, score, real_below)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(declared_origin="human", synthetic_score=None, real_below=None),
        dict(declared_origin=None, synthetic_score=None, real_below=None, assume="Real"),
        dict(declared_origin=None, synthetic_score=0.1, real_below=math.nan),
    ],
)
def test_invalid_arguments_raise_value_error(kwargs):
    with pytest.raises(ValueError):
        decide_origin(**kwargs)


def test_a_decided_record_carries_origin_and_basis_and_is_otherwise_unchanged():
    record = {"id": "a", "declared_origin": None, "synthetic_score": 0.2, "origin": None, "origin_basis": "none"}
    decided = decided_record(record, OriginOptions(real_below=0.5))
    assert decided == {**record, "origin": "real", "origin_basis": "detector"}
    require_decided(decided)
    with pytest.raises(UndecidedOriginError, match="'a' has no origin: apply curation.DecideOrigin"):
        require_decided(record)
