"""The dedup job: read -> validate -> exact dedup -> near dedup -> write.

    python -m pipelines.dedup --input 'corpus/*.jsonl' --output out/ [--near-threshold 0.8] [Beam flags]

Writes survivor shards (``OUTPUT/data/``), ``OUTPUT/duplicates/`` (``id``,
``duplicate_of``, ``cluster_id``, ``similarity``, ``kind``), ``OUTPUT/rejected/``
and ``OUTPUT/manifest.json``. The same stages as ``pipelines.curate`` up to dedup.
"""

from __future__ import annotations

import sys

from pipelines import curate


def main(argv: list[str] | None = None) -> int:
    return curate.main(argv, curate.build_parser("python -m pipelines.dedup", __doc__, detection=False, sampling=False))


if __name__ == "__main__":
    sys.exit(main())
