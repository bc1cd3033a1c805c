"""The jobs' logging set-up (pipelines.common.configure_logging)."""

import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Beam is imported first, as every job does: its import-time warning configures the root logger.
_SCRIPT = """
import logging
import apache_beam
from pipelines import common
common.configure_logging()
common.configure_logging()
logging.getLogger("curation.progress").info("read: 10 records")
logging.getLogger("apache_beam.runners").info("beam chatter")
"""


def test_progress_reaches_stderr_once_after_beam_configured_the_root_logger():
    done = subprocess.run([sys.executable, "-c", _SCRIPT], cwd=REPO, capture_output=True, text=True, check=True)
    lines = [line for line in done.stderr.splitlines() if "read: 10 records" in line]
    assert len(lines) == 1 and " INFO curation.progress: " in lines[0], done.stderr
    assert "beam chatter" not in done.stderr
