"""curation: Beam transforms that assemble LLM training corpora against model collapse.

The public API, one import away::

    import curation
    read = pipeline | curation.ReadDocuments(curation.ReadOptions(inputs=("gs://b/web/*.jsonl.gz",)))

Names load lazily, so importing a pure core (``curation.sampling.allocation``,
say) does not pull in Apache Beam.
"""

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    # reading
    "ReadOptions": "curation.reading.options",
    "InputSpec": "curation.reading.specs",
    "ReadDocuments": "curation.reading.transforms",
    "ReadResult": "curation.reading.transforms",
    # dedup
    "ExactDedupOptions": "curation.dedup.options",
    "NearDedupOptions": "curation.dedup.options",
    "ExactDedup": "curation.dedup.transforms",
    "NearDedup": "curation.dedup.transforms",
    "DedupResult": "curation.dedup.transforms",
    "NearDedupResult": "curation.dedup.transforms",
    # detection
    "ScoreSyntheticOptions": "curation.detection.options",
    "ScoreSynthetic": "curation.detection.transforms",
    "Detector": "curation.detection.detector",
    # origin
    "OriginOptions": "curation.origin.options",
    "DecideOrigin": "curation.origin.transforms",
    "decide_origin": "curation.origin.core",
    # sampling
    "SampleOptions": "curation.sampling.options",
    "SelectSample": "curation.sampling.transforms",
    "SampleResult": "curation.sampling.transforms",
    # writing and provenance
    "WriteOptions": "curation.writing.options",
    "ShardTargets": "curation.shards",
    "WriteShards": "curation.writing.transforms",
    "WriteCuratedOutput": "curation.writing.transforms",
    "RECORD_SCHEMA": "curation.schema",
    "TABLE_SCHEMAS": "curation.schema",
    "Fate": "curation.schema",
    "new_record": "curation.schema",
    "project_row": "curation.schema",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'curation' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), name)
    globals()[name] = value  # later lookups skip this function
    return value
