"""``DecideOrigin``: the Beam wrapper over :func:`curation.origin.core.decided_record`."""

from __future__ import annotations

import apache_beam as beam

from curation.checks import expect_options
from curation.origin.core import decided_record
from curation.origin.options import OriginOptions


class _Decide(beam.DoFn):
    def __init__(self, options: OriginOptions):
        self._options = options

    def process(self, record: dict):
        yield decided_record(record, self._options)


class DecideOrigin(beam.ParDo):
    """Sets ``origin`` and ``origin_basis`` on every record by the origin rule.

    Apply it once, after scoring (if a detector runs) and before anything that
    counts origins (:class:`~curation.sampling.transforms.SelectSample`, the
    writer's per-shard floor). A record the rule cannot decide raises
    :class:`~curation.origin.core.UndecidedOriginError` and fails the run before
    anything is written. (A ParDo itself, not a composite around one: one
    transform in the graph.)
    """

    def __init__(self, options: OriginOptions):
        expect_options(self, options, OriginOptions)
        super().__init__(_Decide(options))
