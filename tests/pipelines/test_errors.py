"""Which failures a job reports as one line (exit 2) and which it lets raise."""

from curation.origin.core import UndecidedOriginError
from curation.storage import ShardVerificationError
from pipelines.common import user_error

# What Beam's multi-process runner raises in the launcher when a worker failed: the worker's traceback as text.
_WORKER_TRACEBACK = """Traceback (most recent call last):
  File "/venv/apache_beam/runners/worker/sdk_worker.py", line 310, in _execute
    response = task()
  File "/repo/curation/origin/core.py", line 64, in decide_origin
    raise UndecidedOriginError(
{name}: {message} [while running 'Sample/DecideOrigin']
"""


def test_errors_of_ours_are_one_line_in_process_and_from_a_worker():
    assert user_error(UndecidedOriginError("cannot tell")) == "cannot tell"
    worker = _WORKER_TRACEBACK.format(name="curation.origin.core.UndecidedOriginError", message="cannot tell")
    assert user_error(RuntimeError(worker)) == "cannot tell [while running 'Sample/DecideOrigin']"


def test_bugs_and_broken_invariants_still_raise():
    assert user_error(ShardVerificationError("shard verification failed")) is None
    verification = _WORKER_TRACEBACK.format(name="curation.storage.ShardVerificationError", message="rows")
    assert user_error(RuntimeError(verification)) is None
    assert user_error(RuntimeError(_WORKER_TRACEBACK.format(name="curation.nowhere.NoSuchError", message="x"))) is None
    assert user_error(KeyError("text")) is None
