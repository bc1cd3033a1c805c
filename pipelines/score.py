"""The scoring job: read -> validate -> score with the synthetic-text detector -> write.

    python -m pipelines.score --input 'corpus/*.jsonl' --detector models/detector --output out/ [Beam flags]

Every record gets ``synthetic_score`` and ``detector_id``; records with no
declared origin get ``origin`` from the model's calibrated ``real_below``
(basis ``detector``). No dedup, no sampling: the same stages as
``pipelines.curate`` with those turned off.
"""

from __future__ import annotations

import sys

from pipelines import curate


def main(argv: list[str] | None = None) -> int:
    parser = curate.build_parser(
        "python -m pipelines.score", __doc__, dedup=False, sampling=False, detector_required=True
    )
    return curate.main(argv, parser)


if __name__ == "__main__":
    sys.exit(main())
