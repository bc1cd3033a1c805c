"""Auditing a run: draw a sample of the records whose origin the run decided, have
it labelled, and certify a lower bound of the real share at a stated confidence.

Pure modules: options (``AuditOptions``), sample (the stratified draw), certify
(labels, bounds, advice).
storage reads the run's shards and writes the audit files through Beam's
FileSystems; no pipeline is needed.
"""
