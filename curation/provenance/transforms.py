"""``LogProgress``: the Beam wrapper over :class:`~curation.provenance.progress.ProgressMeter`."""

from __future__ import annotations

import logging

import apache_beam as beam

from curation.provenance.progress import DEFAULT_INTERVAL_SECONDS, ProgressMeter

_LOG = logging.getLogger("curation.progress")


class _Meter(beam.DoFn):
    def __init__(self, stage: str, interval: float):
        self._stage, self._interval = stage, interval

    def setup(self):
        # One meter per worker process: its rate is that worker's share of the stage.
        self._meter = ProgressMeter(self._stage, self._interval)

    def process(self, record):
        line = self._meter.add(len(record["text"]) if "text" in record else 0)
        if line:
            _LOG.info(line)
        yield record


class LogProgress(beam.PTransform):
    """Passes records through unchanged, logging records, MB and rate for ``stage`` per interval."""

    def __init__(self, stage: str, interval: float = DEFAULT_INTERVAL_SECONDS):
        super().__init__()
        if interval <= 0:
            raise ValueError(f"interval must be positive, got {interval}")
        self._stage, self._interval = stage, interval

    def expand(self, records: beam.PCollection) -> beam.PCollection:
        return records | beam.ParDo(_Meter(self._stage, self._interval))
