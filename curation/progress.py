"""Progress of a long run: records and MB through a stage, at most one line per interval."""

from __future__ import annotations

import logging
import time
from typing import Callable

DEFAULT_INTERVAL_SECONDS = 30.0
_LOG = logging.getLogger("curation.progress")


class ProgressMeter:
    """Counts records and bytes; says how far a stage got once per ``interval`` seconds.

    The clock is read every 256 records, not every record, so metering costs
    next to nothing on the hot path.
    """

    def __init__(self, stage: str, interval: float = DEFAULT_INTERVAL_SECONDS, clock: Callable[[], float] = time.monotonic):
        self.stage, self.interval, self._clock = stage, interval, clock
        self.records = 0
        self.bytes = 0
        self._start = self._last = clock()

    def add(self, n_bytes: int) -> str | None:
        """Counts one record; returns a progress line when one is due."""
        self.records += 1
        self.bytes += n_bytes
        if self.records % 256:
            return None
        now = self._clock()
        if now - self._last < self.interval:
            return None
        self._last = now
        return self.line(now)

    def line(self, now: float | None = None) -> str:
        elapsed = max((now if now is not None else self._clock()) - self._start, 1e-9)
        return (
            f"{self.stage}: {self.records:,} records, {self.bytes / 1e6:,.1f} MB in {elapsed:,.0f} s "
            f"({self.records / elapsed:,.0f} records/s, {self.bytes / 1e6 / elapsed:,.2f} MB/s)"
        )


class StageProgress:
    """A stage's meter that logs its own lines (logger ``curation.progress``), for a DoFn to
    hold: made in ``setup``, so its rate is that DoFn instance's share of the stage.

    The stages a run always has (read, dedup, score) meter the records they already
    handle: a pass-through step only to meter them would cost a transform each.
    """

    def __init__(self, stage: str, interval: float = DEFAULT_INTERVAL_SECONDS):
        if interval <= 0:
            raise ValueError(f"interval must be positive, got {interval}")
        self._meter = ProgressMeter(stage, interval)

    def add(self, n_bytes: int) -> None:
        """Counts one record of ``n_bytes``; logs a line when one is due."""
        line = self._meter.add(n_bytes)
        if line:
            _LOG.info(line)
