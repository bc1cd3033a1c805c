import math

import pytest

from curation.origin.options import OriginOptions


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(real_below=5.0), r"real_below .* \[0, 1\], got 5.0"),
        (dict(real_below=-0.1), r"real_below .* \[0, 1\]"),
        (dict(real_below=math.nan), r"real_below .* \[0, 1\]"),
        (dict(assume_origin="human"), "assume_origin must be real or synthetic, got 'human'"),
    ],
)
def test_options_refuse_a_threshold_or_assumption_that_would_defeat_the_floor(kwargs, message):
    with pytest.raises(ValueError, match=message):
        OriginOptions(**kwargs)


def test_the_edges_of_the_ranges_are_accepted():
    assert OriginOptions(real_below=0.0).real_below == 0.0
    assert OriginOptions(real_below=1.0, assume_origin="synthetic").assume_origin == "synthetic"
