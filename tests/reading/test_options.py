"""ReadOptions validate themselves."""

import pytest

from curation.reading.options import ReadOptions
from tests.reading.conftest import make_options


def test_options_validate():
    with pytest.raises(ValueError, match="at least one input"):
        ReadOptions(inputs=())
    with pytest.raises(ValueError, match="only to real, synthetic or unknown"):
        make_options(origin_values={"human": "people"})
