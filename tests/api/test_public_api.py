import subprocess
import sys

import curation


def test_every_public_name_resolves():
    for name in curation.__all__:
        assert getattr(curation, name) is not None, name


def test_pure_cores_import_without_beam():
    code = ("import sys, curation.sampling.allocation, curation.ranking.core, curation.audit.certify, curation.stats; "
            "print('apache_beam' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_every_transform_refuses_the_wrong_options_object_when_built():
    import pytest

    for transform in (curation.ReadDocuments, curation.ExactDedup, curation.NearDedup, curation.ScoreSynthetic,
                      curation.SelectSample, curation.WriteShards):
        with pytest.raises(TypeError, match=f"{transform.__name__} takes a"):
            transform({"not": "options"})
