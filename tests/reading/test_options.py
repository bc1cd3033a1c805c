"""ReadOptions validate themselves."""

import pytest

from curation.reading.options import ReadOptions
from tests.factories import read_options


def test_options_validate():
    with pytest.raises(ValueError, match="at least one input"):
        ReadOptions(inputs=())
    with pytest.raises(ValueError, match="only to real, synthetic or unknown"):
        read_options(origin_values={"human": "people"})
