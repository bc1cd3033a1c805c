import pytest

from curation.sampling.options import SampleOptions


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(sample_size=0), "sample_size must be at least 1"),
        (dict(sample_size=-3), "sample_size must be at least 1"),
    ],
)
def test_options_refuse_requests_that_would_select_nothing(kwargs, message):
    with pytest.raises(ValueError, match=message):
        SampleOptions(**kwargs)


def test_the_edges_of_the_ranges_are_accepted():
    assert SampleOptions(sample_size=1).sample_size == 1
    assert SampleOptions(min_real_fraction=1.0).min_real_fraction == 1.0
