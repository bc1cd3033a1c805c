"""Drawing the audit sample: which records a person labels, without Beam.

The audited population is every record whose origin the run decided itself
(``origin_basis`` ``detector`` or ``assumed``): declared records count as they
were declared, so labelling them would only repeat the input's metadata.

Strata are (table, shard, predicted origin). The sample is spread over them in
proportion to their size by Webster's divisor method, seat by seat, so that

* the sample is self-weighting: a rate pooled over all strata of one
  predicted origin is an unbiased estimate of that origin's rate in the whole
  output, which is what :mod:`curation.audit.certify` bounds;
* every shard is represented as soon as the sample is at least as large as the
  number of shards (the writer gives every shard the same share of each class);
* it is nested: with the same seed, a larger sample holds every record of a
  smaller one (a divisor method never takes a seat away when the house grows,
  unlike largest remainders), so labels already given carry over.

Within a stratum, ``rows`` mode takes the records with the smallest seeded hash
of their id (without replacement). ``bytes`` mode, for runs whose ratio counts
text bytes, draws text bytes uniformly (monetary-unit sampling, as auditors do)
and audits the record holding each: a record is drawn with probability
proportional to its length, possibly more than once (``draws``), so the share
of machine-labelled draws is a binomial estimate of the machine share of the
text.
"""

from __future__ import annotations

import bisect
import dataclasses
import heapq
from typing import Any, Iterable, Mapping, Sequence

from curation.audit.options import AuditOptions
from curation.hashing import seeded_hash64
from curation.schema import Fate, Origin, OriginBasis

DATA_TABLE, NOT_SELECTED_TABLE = Fate.OUTPUT.table, Fate.NOT_SELECTED.table
AUDITED_BASES = (OriginBasis.DETECTOR.value, OriginBasis.ASSUMED.value)
PREDICTED = (Origin.REAL.value, Origin.SYNTHETIC.value)
# Per-shard population classes: what certify needs to weigh the labelled rates.
DECLARED_REAL, DECLARED_SYNTHETIC = "declared_real", "declared_synthetic"
UNDECLARED_REAL, UNDECLARED_SYNTHETIC = "undeclared_real", "undeclared_synthetic"
UNDECIDED = "undecided"
POPULATION_CLASSES = (DECLARED_REAL, DECLARED_SYNTHETIC, UNDECLARED_REAL, UNDECLARED_SYNTHETIC, UNDECIDED)
# Columns a sampled row carries into sample.jsonl / sample.csv, in order.
SAMPLE_COLUMNS = (
    "id", "run_id", "table", "shard", "source", "source_uri", "source_index", "synthetic_score",
    "predicted_origin", "origin_basis", "text_bytes", "draws", "text", "label",
)
_HASH_SPAN = 2**64


def population_class(origin: str | None, basis: str | None) -> str:
    """Which of :data:`POPULATION_CLASSES` a record of the data shards belongs to."""
    if origin not in PREDICTED:
        return UNDECIDED
    declared = basis == OriginBasis.DECLARED.value
    if origin == Origin.REAL.value:
        return DECLARED_REAL if declared else UNDECLARED_REAL
    return DECLARED_SYNTHETIC if declared else UNDECLARED_SYNTHETIC


def stratum_key(table: str, shard: str, predicted_origin: str) -> str:
    return f"{table}/{shard}/{predicted_origin}"


def allocate(weights: Mapping[str, int], total: int, caps: Mapping[str, int] | None = None) -> dict[str, int]:
    """Spreads ``total`` draws over strata in proportion to ``weights`` (Webster's divisor method).

    Seats go one at a time to the stratum with the largest ``weight / (seats + 1/2)``
    (ties by key), so the allocation for ``total + 1`` extends the one for
    ``total``. ``caps`` bound a stratum's seats (its records, when drawing
    without replacement); draws beyond every cap are not made.
    """
    seats = dict.fromkeys(weights, 0)
    heap = [(-w / 0.5, key) for key, w in sorted(weights.items()) if w > 0 and (caps is None or caps[key] > 0)]
    heapq.heapify(heap)
    for _ in range(total):
        if not heap:
            break
        _, key = heapq.heappop(heap)
        seats[key] += 1
        if caps is None or seats[key] < caps[key]:
            heapq.heappush(heap, (-weights[key] / (seats[key] + 0.5), key))
    return seats


def _rank(record_id: str, seed: int) -> tuple[int, str]:
    return seeded_hash64(record_id, seed, "audit"), record_id


def draw_rows(candidates: Sequence[Mapping[str, Any]], n: int, seed: int) -> list[tuple[Mapping[str, Any], int]]:
    """``n`` records without replacement: the smallest seeded hashes of their ids (one draw each)."""
    return [(c, 1) for c in sorted(candidates, key=lambda c: _rank(c["id"], seed))[:n]]


def draw_bytes(
    candidates: Sequence[Mapping[str, Any]], n: int, seed: int, key: str
) -> list[tuple[Mapping[str, Any], int]]:
    """``n`` uniform text bytes of the stratum (with replacement): the records holding them and their draw counts."""
    ordered = sorted(candidates, key=lambda c: c["id"])
    ends, total = [], 0
    for c in ordered:
        total += c["text_bytes"]
        ends.append(total)
    if total == 0:
        return []
    counts: dict[int, int] = {}
    for j in range(n):
        # The j-th draw depends on j alone, so a larger sample keeps the smaller one's draws.
        position = ((seeded_hash64(f"{key}#{j}", seed, "audit-bytes") % _HASH_SPAN) * total) // _HASH_SPAN
        index = bisect.bisect_right(ends, position)
        counts[index] = counts.get(index, 0) + 1
    return [(ordered[i], counts[i]) for i in sorted(counts)]


@dataclasses.dataclass(frozen=True)
class Draw:
    """An audit sample: its design (what certify needs) and the drawn records."""

    design: dict[str, Any]
    # (record, draws) with the record's light columns; text is joined later by the caller.
    picks: list[tuple[dict[str, Any], int]]


def draw_sample(
    shards: Iterable[tuple[str, str, Sequence[Mapping[str, Any]]]],
    options: AuditOptions,
    run_id: str,
    shard_sha256: Mapping[str, str],
) -> Draw:
    """Draws the audit sample from ``(table, shard name, records)`` triples.

    Each record holds ``id``, ``origin``, ``origin_basis``, ``text_bytes`` (None
    where the table has no text: ``not_selected/``) and the columns a labeller
    sees. ``bytes`` mode applies to the data shards; ``not_selected/`` keeps no
    text, so its records are drawn by ``rows``.
    """
    population: dict[str, dict[str, dict[str, int]]] = {}
    strata: dict[str, dict[str, Any]] = {}
    members: dict[str, list[Mapping[str, Any]]] = {}
    for table, shard, records in shards:
        if table == DATA_TABLE:
            counts = population.setdefault(
                shard, {"rows": dict.fromkeys(POPULATION_CLASSES, 0), "text_bytes": dict.fromkeys(POPULATION_CLASSES, 0)}
            )
        for record in records:
            if table == DATA_TABLE:
                cls = population_class(record["origin"], record["origin_basis"])
                counts["rows"][cls] += 1
                counts["text_bytes"][cls] += record["text_bytes"]
            if record["origin_basis"] not in AUDITED_BASES or record["origin"] not in PREDICTED:
                continue
            key = stratum_key(table, shard, record["origin"])
            stratum = strata.setdefault(
                key, {"table": table, "shard": shard, "predicted_origin": record["origin"], "rows": 0, "text_bytes": 0}
            )
            stratum["rows"] += 1
            stratum["text_bytes"] += record["text_bytes"] or 0
            members.setdefault(key, []).append(record)
    picks: list[tuple[dict[str, Any], int]] = []
    for table, size in ((DATA_TABLE, options.sample_size), (NOT_SELECTED_TABLE, options.not_selected_size)):
        keys = [k for k, s in strata.items() if s["table"] == table]
        by_bytes = options.unit == "bytes" and table == DATA_TABLE
        weights = {k: strata[k]["text_bytes" if by_bytes else "rows"] for k in keys}
        seats = allocate(weights, size, caps=None if by_bytes else {k: strata[k]["rows"] for k in keys})
        for key in keys:
            strata[key]["allocated"] = seats[key]
            drawn = (draw_bytes(members[key], seats[key], options.seed, key) if by_bytes
                     else draw_rows(members[key], seats[key], options.seed))
            where = {"table": table, "shard": strata[key]["shard"]}
            picks += [({**record, **where}, n) for record, n in drawn]
    design = {
        "run_id": run_id,
        "seed": options.seed,
        "unit": options.unit,
        "sample_size": options.sample_size,
        "not_selected_size": options.not_selected_size,
        "allocation": "proportional to stratum size (Webster's divisor method), strata = table x shard x predicted origin",
        "audited_bases": list(AUDITED_BASES),
        "strata": dict(sorted(strata.items())),
        "shards": {name: {"sha256": shard_sha256.get(name), **population[name]} for name in sorted(population)},
    }
    return Draw(design=design, picks=picks)


def labelling_order(rows: Iterable[Mapping[str, Any]], seed: int) -> list[Mapping[str, Any]]:
    """The sample in a seeded random order, so a labeller's fatigue does not follow the strata."""
    return sorted(rows, key=lambda r: _rank(f"{r['table']}/{r['id']}", seed))
