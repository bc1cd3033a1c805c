"""The floor read one way: as the decimal written, exactly."""

import math
from fractions import Fraction

import pytest

from curation.ratio import exact_fraction, holds_floor


def test_fractions_are_read_as_written():
    assert exact_fraction(0.1, "r") == Fraction(1, 10)
    for bad in (0, 1.5, math.nan, "0.5"):
        with pytest.raises(ValueError):
            exact_fraction(bad, "r")


def test_the_floor_holds_exactly_at_the_decimal_written():
    assert holds_floor(4, 5, 0.8) and not holds_floor(79_999, 100_000, 0.8)  # 0.8 is 4/5, not the float below it
    assert holds_floor(80_000, 100_000, 0.8) and holds_floor(0, 0, 0.8)
    assert not holds_floor(0, 1, 0.5)
