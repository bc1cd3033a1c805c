import math

import pytest

from curation.sampling.options import SampleOptions


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(sample_size=0), "sample_size must be at least 1"),
        (dict(sample_size=-3), "sample_size must be at least 1"),
        (dict(min_real_fraction=0.8, real_below=5.0), r"real_below .* \[0, 1\], got 5.0"),
        (dict(min_real_fraction=0.8, real_below=-0.1), r"real_below .* \[0, 1\]"),
        (dict(min_real_fraction=0.8, real_below=math.nan), r"real_below .* \[0, 1\]"),
    ],
)
def test_options_refuse_requests_that_would_select_nothing_or_defeat_the_floor(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SampleOptions(**kwargs)


def test_the_edges_of_the_ranges_are_accepted():
    assert SampleOptions(sample_size=1, real_below=0.0).sample_size == 1
    assert SampleOptions(min_real_fraction=1.0, real_below=1.0).real_below == 1.0
