"""Certifying the real share from a labelled audit sample, without Beam.

The data shards hold three kinds of records, each counted as it deserves:

* declared real (and declared synthetic): counted exactly, as declared;
* undeclared records the run counted real (detector or ``--assume-origin``):
  some share ``p`` of them is machine-written; the labelled sample gives an
  exact one-sided Clopper-Pearson upper bound ``U`` of ``p``;
* undeclared records the run counted synthetic: some share ``q`` of them is
  human-written; the sample gives a Clopper-Pearson lower bound ``L`` of ``q``.

    certified real share = (declared_real + undeclared_real x (1 - U) + undeclared_synthetic x L) / total

Each bound is taken at confidence ``1 - alpha / m`` (``m`` the number of rates
estimated, one or two): by the union (Bonferroni) bound, both hold together
with probability at least ``1 - alpha``, and then the true real share is at
least the certified one. The draw is without replacement and proportional to
stratum size (see :mod:`curation.audit.sample`); the binomial bound is the
usual conservative treatment of such a draw. In ``bytes`` mode each label
counts once per byte draw, so the same formula bounds the share of the text.

Per shard, the pooled ``U`` and ``L`` are applied to the shard's own counts:
the writer assigns each class's records to shards by a seeded hash, so every
shard is a random part of the output and shares its expected rates, and the
proportional sample weighs every shard by its size. A strictly per-shard
statement, from each shard's own labels and simultaneous over all shards
(Bonferroni over ``m x shards`` bounds), is given alongside; it is looser.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math
from typing import Any, Callable, Iterable, Mapping, Sequence

from curation.audit.sample import (
    DATA_TABLE, DECLARED_REAL, NOT_SELECTED_TABLE, UNDECLARED_REAL, UNDECLARED_SYNTHETIC,
)
from curation.schema import Origin
from curation.stats import share_lower_bound, share_upper_bound

DEFAULT_LABEL_VALUES = "real=real,synthetic=synthetic"
MAX_PROJECTED_LABELS = 10**6
MAX_NAMED = 3  # ids named in one error message
METHOD = (
    "exact one-sided Clopper-Pearson bounds: an upper bound U of the machine share among undeclared records "
    "counted real, a lower bound L of the human share among undeclared records counted synthetic, each at "
    "confidence 1 - (1 - c)/m with m the number of rates estimated (union bound, so both hold together at c); "
    "certified real share = (declared real + undeclared real x (1 - U) + undeclared synthetic x L) / total. "
    "Per shard: the pooled U and L on the shard's own counts (shards are seeded-hash parts of each class); "
    "own_sample: each shard's own labels, simultaneous over all shards (Bonferroni over m x shards)."
)


class AuditError(ValueError):
    """A labels file or audit sample that cannot certify anything; the message says what to fix."""


@dataclasses.dataclass(frozen=True)
class LabelEntry:
    """One label as the file gave it."""

    record_id: str
    value: str
    line: int  # 1-based line of the file (CSV: counting the header)
    run_id: str | None


def parse_label_values(text: str) -> dict[str, str]:
    """``human=real,ai=synthetic`` -> dict; every target must be ``real`` or ``synthetic``."""
    mapping = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, target = (s.strip() for s in item.partition("="))
        if not sep or not key or target not in (Origin.REAL.value, Origin.SYNTHETIC.value):
            raise AuditError(f"label value map item {item!r} is not of the form value=real|synthetic")
        mapping[key] = target
    if not mapping:
        raise AuditError("the label value map is empty; give it as value=real|synthetic,...")
    return mapping


def _cell(value: Any) -> str:
    return "" if value is None else str(value).strip()


def parse_labels(data: bytes, name: str) -> list[LabelEntry]:
    """The labels of a CSV (columns ``id`` and ``label``, others ignored: ``sample.csv``
    filled in works) or JSON-lines file (objects with ``id`` and ``label``).
    Rows with an empty label are left out: they are not labelled yet."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise AuditError(f"labels file {name} is not UTF-8 ({err.reason} at byte {err.start})") from None
    entries = []
    if name.lower().endswith(".csv"):
        reader = csv.DictReader(io.StringIO(text, newline=""))
        missing = {"id", "label"} - set(reader.fieldnames or ())
        if reader.fieldnames and missing:
            raise AuditError(
                f"labels file {name} has no {' or '.join(sorted(missing))} column "
                f"(columns: {', '.join(reader.fieldnames)})"
            )
        for row in reader:
            entries.append((reader.line_num, row))
    else:
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as err:
                raise AuditError(f"{name} line {number} is not JSON ({err.msg}); give labels as CSV or JSON lines") from None
            if not isinstance(row, dict) or "id" not in row:
                raise AuditError(f"{name} line {number} is not an object with an id and a label")
            entries.append((number, row))
    labels = [
        LabelEntry(_cell(row.get("id")), _cell(row.get("label")), number, _cell(row.get("run_id")) or None)
        for number, row in entries
    ]
    labels = [e for e in labels if e.value]
    if not labels:
        raise AuditError(f"labels file {name} holds no labels: fill in the label column of the audit sample")
    return labels


def _named(ids: Iterable[str]) -> str:
    ids = sorted(ids)
    shown = ", ".join(repr(i) for i in ids[:MAX_NAMED])
    return shown + (f" and {len(ids) - MAX_NAMED} more" if len(ids) > MAX_NAMED else "")


def check_labels(
    entries: Sequence[LabelEntry],
    value_map: Mapping[str, str],
    sample: Sequence[Mapping[str, Any]],
    run_id: str,
    records_of_run: Callable[[set[str]], set[str]],
) -> dict[str, str]:
    """Validates labels against the sample; returns ``{id: real|synthetic}`` for every sampled record.

    ``records_of_run(ids)`` returns which of ``ids`` are records of the run
    (asked only for labelled ids outside the sample, to tell the two mistakes apart).
    """
    foreign = sorted({e.run_id for e in entries if e.run_id is not None and e.run_id != run_id})
    if foreign:
        raise AuditError(f"the labels are for run {', '.join(foreign)}, but this output holds run {run_id}: "
                         "label the audit sample drawn from this run")
    for e in entries:
        if e.value not in value_map:
            raise AuditError(f"line {e.line}: label {e.value!r} of id {e.record_id!r} is not in the label value map "
                             f"({', '.join(sorted(value_map))}); fix it or pass --label-values")
    labels: dict[str, tuple[str, LabelEntry]] = {}
    for e in entries:
        value = value_map[e.value]
        if e.record_id in labels:
            first_value, first = labels[e.record_id]
            if first_value != value:
                raise AuditError(f"id {e.record_id!r} has conflicting labels: {first.value!r} on line {first.line} "
                                 f"and {e.value!r} on line {e.line}; keep one")
            raise AuditError(f"id {e.record_id!r} is labelled twice (lines {first.line} and {e.line}); keep one")
        labels[e.record_id] = (value, e)
    sampled = {row["id"] for row in sample}
    outside = set(labels) - sampled
    if outside:
        in_run = records_of_run(outside)
        unknown = outside - in_run
        if unknown:
            raise AuditError(f"{len(unknown)} labelled id(s) are not records of run {run_id}: {_named(unknown)}")
        raise AuditError(f"{len(in_run)} labelled id(s) are records of this run but not in its audit sample: "
                         f"{_named(in_run)}; only the drawn sample can be labelled (hand-picked records bias the bound)")
    unlabelled = sampled - set(labels)
    if unlabelled:
        raise AuditError(f"{len(unlabelled)} of the {len(sampled)} sampled records have no label: {_named(unlabelled)}; "
                         "label every record of the sample (a partly labelled sample is not a random one)")
    return {record_id: value for record_id, (value, _) in labels.items()}


@dataclasses.dataclass(frozen=True)
class Tally:
    """Labelled draws of one predicted origin: how many, and how many were labelled synthetic."""

    draws: int = 0
    machine: int = 0

    def add(self, draws: int, machine: bool) -> "Tally":
        return Tally(self.draws + draws, self.machine + (draws if machine else 0))


def tally(sample: Iterable[Mapping[str, Any]], labels: Mapping[str, str], table: str, shard: str | None = None
          ) -> dict[str, Tally]:
    """Per predicted origin, the labelled draws of ``table`` (of one shard, if given)."""
    found = {Origin.REAL.value: Tally(), Origin.SYNTHETIC.value: Tally()}
    for row in sample:
        if row["table"] == table and (shard is None or row["shard"] == shard):
            origin = row["predicted_origin"]
            found[origin] = found[origin].add(int(row["draws"]), labels[row["id"]] == Origin.SYNTHETIC.value)
    return found


def _measure(unit: str) -> str:
    return "text_bytes" if unit == "bytes" else "rows"


def certified_share(counts: Mapping[str, int], upper_machine: float, lower_human: float) -> float | None:
    """The formula: declared real exactly, undeclared real x (1 - U), undeclared synthetic x L, over all."""
    total = sum(counts.values())
    if not total:
        return None
    real = counts[DECLARED_REAL] + counts[UNDECLARED_REAL] * (1 - upper_machine) + counts[UNDECLARED_SYNTHETIC] * lower_human
    return real / total


def _bounds(tallies: Mapping[str, Tally], counts: Mapping[str, int], rate_confidence: float) -> tuple[float, float]:
    """``(U, L)``: the worst case (1, 0) for a class with records but no labels; unused for an empty class."""
    real, synthetic = tallies[Origin.REAL.value], tallies[Origin.SYNTHETIC.value]
    upper = share_upper_bound(real.machine, real.draws, rate_confidence) if real.draws else 1.0
    lower = share_lower_bound(synthetic.draws - synthetic.machine, synthetic.draws, rate_confidence) if synthetic.draws else 0.0
    return upper, lower


def rates_estimated(counts: Mapping[str, int]) -> int:
    """How many rates the bound spends its error on: one per undeclared class present (at least one)."""
    return max(1, (counts[UNDECLARED_REAL] > 0) + (counts[UNDECLARED_SYNTHETIC] > 0))


def _sum_counts(shards: Mapping[str, Mapping[str, Any]], measure: str) -> dict[str, int]:
    totals: dict[str, int] = {}
    for shard in shards.values():
        for cls, n in shard[measure].items():
            totals[cls] = totals.get(cls, 0) + n
    return totals


def projected_bound(counts: Mapping[str, int], tallies: Mapping[str, Tally], scale: float, rate_confidence: float) -> float:
    """The certified share if ``scale`` times as many labels showed the same machine shares."""
    projected = {}
    for origin, t in tallies.items():
        draws = math.ceil(t.draws * scale)
        projected[origin] = Tally(draws, round(t.machine / t.draws * draws) if t.draws else 0)
    return certified_share(counts, *_bounds(projected, counts, rate_confidence))


def labels_needed(counts, tallies, floor: float, rate_confidence: float) -> int | None:
    """The smallest number of labels whose certified share would reach ``floor`` if the machine
    shares seen so far held; None when none would (the estimated share itself is under it)."""
    labelled = sum(t.draws for t in tallies.values())
    if not labelled:
        return None
    ok = lambda n: projected_bound(counts, tallies, n / labelled, rate_confidence) >= floor  # noqa: E731
    high = labelled
    while not ok(high):
        if high >= MAX_PROJECTED_LABELS:
            return None
        high = min(2 * high, MAX_PROJECTED_LABELS)
    low = labelled
    while low < high:
        middle = (low + high) // 2
        if ok(middle):
            high = middle
        else:
            low = middle + 1
    return high


def real_below_needed(sample, labels, counts, tallies, floor: float, rate_confidence: float) -> dict[str, Any] | None:
    """The highest ``real_below`` under which the labelled records' machine share would certify ``floor``.

    Projected: a re-run at that threshold is assumed to keep this run's counts per
    class (the sampler fills the real quota again, from records scoring under it).
    """
    scored = [(r["synthetic_score"], int(r["draws"]), labels[r["id"]] == Origin.SYNTHETIC.value)
              for r in sample if r["table"] == DATA_TABLE and r["predicted_origin"] == Origin.REAL.value
              and r["synthetic_score"] is not None]
    for threshold in sorted({s for s, _, _ in scored}, reverse=True):
        under = [(d, m) for s, d, m in scored if s < threshold]
        if not under:
            break
        kept = Tally(sum(d for d, _ in under), sum(d for d, m in under if m))
        bound = certified_share(counts, *_bounds({**tallies, Origin.REAL.value: kept}, counts, rate_confidence))
        if bound >= floor:
            return {"real_below": threshold, "labelled_under_it": kept.draws, "machine_under_it": kept.machine,
                    "projected_certified_real_share": bound}
    return None


def certify(
    manifest: Mapping[str, Any],
    design: Mapping[str, Any],
    sample: Sequence[Mapping[str, Any]],
    labels: Mapping[str, str],
    confidence: float = 0.95,
) -> dict[str, Any]:
    """The certification (``certification.json``) from a validated set of labels."""
    if not 0.5 <= confidence < 1.0:
        raise AuditError(f"--confidence must be in [0.5, 1), got {confidence}")
    unit = design["unit"]
    measure = _measure(unit)
    shards = design["shards"]
    counts = _sum_counts(shards, measure)
    if not sum(counts.values()):
        raise AuditError(f"run {manifest['run_id']} wrote no data: there is no real share to certify")
    rates = rates_estimated(counts)
    alpha = 1.0 - confidence
    rate_confidence = 1.0 - alpha / rates
    tallies = tally(sample, labels, DATA_TABLE)
    upper, lower = _bounds(tallies, counts, rate_confidence)
    overall = certified_share(counts, upper, lower)
    real_t, synthetic_t = tallies[Origin.REAL.value], tallies[Origin.SYNTHETIC.value]
    estimate = certified_share(
        counts, real_t.machine / real_t.draws if real_t.draws else 1.0,
        (synthetic_t.draws - synthetic_t.machine) / synthetic_t.draws if synthetic_t.draws else 0.0,
    )
    own_confidence = 1.0 - alpha / (rates * max(1, len(shards)))
    per_shard = {}
    for name, shard in shards.items():
        own = tally(sample, labels, DATA_TABLE, name)
        per_shard[name] = {
            "counts": dict(shard[measure]),
            "as_labelled_real_share": _labelled_share(shard[measure]),
            "certified_real_share": certified_share(shard[measure], upper, lower),
            "labelled_draws": sum(t.draws for t in own.values()),
            "own_sample_certified_real_share": certified_share(shard[measure], *_bounds(own, shard[measure], own_confidence)),
        }
    floor = manifest.get("config", {}).get("min_real_fraction")
    meets = floor is None or (overall is not None and overall >= floor)
    advice = None
    if not meets:
        needed = labels_needed(counts, tallies, floor, rate_confidence)
        labelled = sum(t.draws for t in tallies.values())
        advice = {
            "labels_needed": needed,
            "more_labels": None if needed is None else needed - labelled,
            "lower_real_below": real_below_needed(sample, labels, counts, tallies, floor, rate_confidence),
        }
    return {
        "run_id": manifest["run_id"],
        "unit": unit,
        "confidence": confidence,
        "method": METHOD,
        "rates_estimated": rates,
        "rate_confidence": rate_confidence,
        "labelled": {"data": len([r for r in sample if r["table"] == DATA_TABLE]),
                     "not_selected": len([r for r in sample if r["table"] == NOT_SELECTED_TABLE]),
                     "data_draws": real_t.draws + synthetic_t.draws},
        "machine_share_of_undeclared_real": _rate(real_t, machine=True, bound=upper, kind="upper_bound"),
        "human_share_of_undeclared_synthetic": _rate(synthetic_t, machine=False, bound=lower, kind="lower_bound"),
        "overall": {
            "counts": counts,
            "as_labelled_real_share": _labelled_share(counts),
            "estimated_real_share": estimate,
            "certified_real_share": overall,
        },
        "shards": per_shard,
        "own_sample_confidence_per_bound": own_confidence,
        "min_real_fraction": floor,
        "meets_floor": meets,
        "advice": advice,
        "not_selected": _not_selected(design, sample, labels, confidence),
    }


def _labelled_share(counts: Mapping[str, int]) -> float | None:
    total = sum(counts.values())
    return (counts[DECLARED_REAL] + counts[UNDECLARED_REAL]) / total if total else None


def _rate(t: Tally, machine: bool, bound: float, kind: str) -> dict[str, Any]:
    hits = t.machine if machine else t.draws - t.machine
    return {"labelled_draws": t.draws, "observed": hits, "estimate": hits / t.draws if t.draws else None, kind: bound}


def _not_selected(design, sample, labels, confidence) -> dict[str, Any] | None:
    """What the sampler left out, measured from its own labels: informational, never in the certified share."""
    if not design.get("not_selected_size"):
        return None
    strata = [s for s in design["strata"].values() if s["table"] == NOT_SELECTED_TABLE]
    tallies = tally(sample, labels, NOT_SELECTED_TABLE)
    section = {}
    for origin, t in tallies.items():
        population = sum(s["rows"] for s in strata if s["predicted_origin"] == origin)
        human = t.draws - t.machine
        entry = {"records": population, "labelled": t.draws, "human": human}
        if t.draws:
            low = share_lower_bound(human, t.draws, confidence)
            high = 1.0 - share_lower_bound(t.machine, t.draws, confidence)
            entry.update({"human_share_estimate": human / t.draws, "human_share_lower_bound": low,
                          "human_share_upper_bound": high, "human_records_estimate": round(population * human / t.draws)})
        section[f"undeclared_{origin}"] = entry
    return section


def headline(certification: Mapping[str, Any]) -> str:
    """``real share >= 78.4% at 95% confidence, from 300 labelled records`` (of text, in bytes mode)."""
    share = certification["overall"]["certified_real_share"]
    what = "real share of the text" if certification["unit"] == "bytes" else "real share"
    labelled = certification["labelled"]["data"]
    value = "n/a" if share is None else f"{100 * share:.1f}%"
    return f"{what} >= {value} at {100 * certification['confidence']:g}% confidence, from {labelled:,} labelled records"


def floor_verdict(certification: Mapping[str, Any]) -> str:
    """The certified share against the run's floor, as a clause ("meets the requested floor of 80.00%",
    "is under the floor ...: what would lift it"), or "" when the run asked for no floor."""
    floor = certification["min_real_fraction"]
    if floor is None:
        return ""
    if certification["meets_floor"]:
        return f"meets the requested floor of {100 * floor:.2f}%"
    return f"is {advice_text(certification)}"


def advice_text(certification: Mapping[str, Any]) -> str:
    """What would lift the certified share to the floor, in one sentence (empty when it meets it)."""
    advice = certification.get("advice")
    if not advice:
        return ""
    if advice["labels_needed"] is not None:
        labels = (f"about {advice['more_labels']:,} more labels would reach it (a sample of "
                  f"{advice['labels_needed']:,}, if the machine shares seen so far hold)")
    else:
        estimate = certification["overall"]["estimated_real_share"]
        labels = f"more labels cannot reach it (the estimate from the labels, {100 * estimate:.1f}%, is under it)"
    lower = advice["lower_real_below"]
    if lower is not None:
        threshold = (f"a re-run with real_below at most {lower['real_below']:.4g} would (projected from the "
                     f"{lower['labelled_under_it']:,} labelled records under it: "
                     f"{100 * lower['projected_certified_real_share']:.1f}% certified)")
    else:
        threshold = "no lower real_below would, as far as the labelled records show"
    return f"under the floor of {100 * certification['min_real_fraction']:.1f}%: {labels}; {threshold}"
