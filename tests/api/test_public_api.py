import subprocess
import sys

import curation


def test_every_public_name_resolves():
    for name in curation.__all__:
        assert getattr(curation, name) is not None, name


def test_pure_cores_import_without_beam():
    code = "import sys, curation.sampling.allocation, curation.ranking.core; print('apache_beam' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
