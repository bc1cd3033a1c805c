import math

import pytest

from curation.stats import share_lower_bound, share_upper_bound


def test_share_upper_bound_matches_closed_forms_and_brute_force():
    # None seen in n: the bound solves (1 - p)^n = 0.05.
    assert share_upper_bound(0, 13) == pytest.approx(1 - 0.05 ** (1 / 13), rel=1e-9)
    # One of two: P(at most 1 of 2) = 1 - p^2 = 0.05.
    assert share_upper_bound(1, 2) == pytest.approx(math.sqrt(0.95), rel=1e-9)
    assert share_upper_bound(3, 3) == 1.0
    bound = share_upper_bound(12, 1200)
    at_most = sum(math.comb(1200, i) * bound**i * (1 - bound) ** (1200 - i) for i in range(13))
    assert at_most == pytest.approx(0.05, rel=1e-6) and 0.01 < bound < 0.02
    with pytest.raises(ValueError):
        share_upper_bound(1, 0)



def test_share_lower_bound_mirrors_the_upper_bound():
    # None of 13 human: the lower bound is 0; all 13 human: it solves p^13 = 0.05.
    assert share_lower_bound(0, 13) == 0.0
    assert share_lower_bound(13, 13) == pytest.approx(0.05 ** (1 / 13), rel=1e-9)
    assert share_lower_bound(30, 100, 0.975) == pytest.approx(1 - share_upper_bound(70, 100, 0.975))
    with pytest.raises(ValueError, match="confidence"):
        share_upper_bound(1, 10, 1.0)
