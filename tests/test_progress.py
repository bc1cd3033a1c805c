import logging

import apache_beam as beam
import pytest
from apache_beam.testing.util import assert_that, equal_to

from curation.progress import ProgressMeter, StageProgress
from curation.provenance.transforms import LogProgress


def test_meter_reports_once_per_interval_with_rates():
    now = [0.0]
    meter = ProgressMeter("read", interval=10, clock=lambda: now[0])
    lines = []
    for i in range(2048):
        now[0] = i * 0.01  # 100 records per second
        line = meter.add(1000)
        if line:
            lines.append(line)
    assert len(lines) == 2  # at 10.24 s and 20.48 s
    assert lines[0].startswith("read: 1,024 records, 1.0 MB in 10 s (100 records/s, 0.10 MB/s)")


def test_stage_progress_logs_its_lines_on_the_progress_logger(caplog):
    progress = StageProgress("near dedup", interval=1e-9)
    with caplog.at_level(logging.INFO, logger="curation.progress"):
        for _ in range(512):
            progress.add(10)
    lines = [r.getMessage() for r in caplog.records if r.name == "curation.progress"]
    assert len(lines) == 2 and lines[-1].startswith("near dedup: 512 records, 0.0 MB in ")


def test_a_meter_refuses_an_interval_that_is_not_positive():
    with pytest.raises(ValueError, match="interval must be positive, got 0"):
        StageProgress("read", interval=0)
    with pytest.raises(ValueError, match="interval must be positive, got -1"):
        LogProgress("read", interval=-1)


def test_log_progress_passes_records_through(make_pipeline):
    records = [{"id": str(i), "text": "x" * i} for i in range(600)]
    with make_pipeline() as p:
        out = p | beam.Create(records) | LogProgress("test", interval=0.001)
        assert_that(out, equal_to(records))
