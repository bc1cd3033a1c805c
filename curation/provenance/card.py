"""The dataset card: ``OUTPUT/README.md``, written from the run manifest.

Everything on the card is read from ``manifest.json`` (no table is scanned), so
the card states exactly the numbers the run's accounting proved. Sections whose
stage did not run (no ``detector`` or ``sampling`` section, no ``duplicates``
table) say "not run" instead of disappearing, so a reader can tell "nothing was
removed" from "nobody looked".

The helpers at the top (class totals, real fractions, flattening a section) are
shared with :mod:`curation.provenance.report`.
"""

from __future__ import annotations

import shlex
from typing import Any, Iterable, Mapping

from curation.audit.certify import floor_verdict, headline
from curation.provenance.manifest import class_totals, real_fraction
from curation.schema import RECORD_SCHEMA, Fate, Origin, RatioUnit, describe
from curation import storage
from curation.storage import CARD_FILE

MAX_STRATA_ROWS = 50  # a card is read by people: beyond this, point to manifest.json
NOT_RUN = "not run"


def min_real_fraction(manifest: Mapping[str, Any]) -> float | None:
    return manifest.get("config", {}).get("min_real_fraction")


def ratio_unit(manifest: Mapping[str, Any]) -> str:
    """What the floor counted: the sampler's unit, else the job's flag, else rows."""
    sampling = manifest.get("sampling") or {}
    return sampling.get("ratio_unit") or manifest.get("config", {}).get("ratio_unit") or RatioUnit.ROWS.value


def flatten(section: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """``(dotted.key, value)`` for every scalar or list in a nested manifest section, in key order.

    Sections written by other stages (detector, sampling) evolve on their own;
    flattening shows whatever they record without this module knowing their keys.
    """
    rows: list[tuple[str, Any]] = []
    for key in sorted(section):
        value = section[key]
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            rows += flatten(value, name + ".")
        else:
            rows.append((name, value))
    return rows


def format_value(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return str(value).lower() if value is not None else "null"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(format_value(v) for v in value)
    return str(value)


def percent(fraction: float | None) -> str:
    return "n/a" if fraction is None else f"{100 * fraction:.2f}%"


def reproduce_command(config: Mapping[str, Any], output_dir: str) -> str:
    """The ``python -m pipelines.curate`` command line that a manifest's ``config`` came from.

    ``config`` holds the job's argparse destinations; each maps back to its flag
    (``shard_rows`` -> ``--shard-rows``). None is the unset default, False an
    unset switch; lists are repeated flags (``--input``).
    """
    parts = ["python", "-m", "pipelines.curate"]
    for key, value in sorted(config.items()):
        flag = "--" + key.replace("_", "-")
        if value is None or value is False:
            continue
        if value is True:
            parts.append(flag)
        elif isinstance(value, (list, tuple)):
            for item in value:
                parts += [flag, str(item)]
        else:
            parts += [flag, str(value)]
    parts += ["--output", output_dir]
    return " ".join(shlex.quote(p) for p in parts)


def _table(header: Iterable[str], rows: Iterable[Iterable[Any]]) -> list[str]:
    header = list(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        cells = [format_value(c).replace("|", "\\|").replace("\n", " ") for c in row]
        lines.append("| " + " | ".join(cells) + " |")
    return lines + [""]


def _inputs_section(manifest: Mapping[str, Any]) -> list[str]:
    inputs = manifest.get("inputs", [])
    lines = [
        "## What went in",
        "",
        f"{sum(f['records'] for f in inputs):,} records ({sum(f['bytes'] for f in inputs):,} bytes) "
        f"from {len(inputs)} file(s):",
        "",
    ]
    rows = ([f["uri"], f["source"], f["bytes"], f["records"]] for f in inputs)
    return lines + _table(["file", "source", "bytes", "records"], rows)


def _output_section(manifest: Mapping[str, Any]) -> list[str]:
    balance = manifest["accounting"]
    data = manifest.get("tables", {}).get(Fate.OUTPUT.table, {"rows": 0, "bytes": 0, "shards": []})
    totals = class_totals(manifest)
    text_bytes = class_totals(manifest, "class_text_bytes")
    real = totals.get(Origin.REAL.value, 0)
    synthetic = totals.get(Origin.SYNTHETIC.value, 0)
    undecided = sum(totals.values()) - real - synthetic
    ratio = f"{real / synthetic:.3f} : 1" if synthetic else "no synthetic rows"
    floor = min_real_fraction(manifest)
    in_bytes = ratio_unit(manifest) == RatioUnit.BYTES.value
    text_share = f"{percent(real_fraction(text_bytes))} of {sum(text_bytes.values()):,} UTF-8 bytes"
    lines = [
        f"## {Fate.OUTPUT.title}",
        "",
        f"{data['rows']:,} rows in {len(data['shards'])} Parquet shard(s) under `{Fate.OUTPUT.table}/` "
        f"({data['bytes']:,} bytes).",
        "",
        f"**Achieved real fraction: {percent(real_fraction(totals))}** "
        f"({real:,} real, {synthetic:,} synthetic, {undecided:,} undecided rows; real : synthetic = {ratio}).",
        "",
    ]
    if in_bytes:
        lines += [
            f"**Real share of the text: {text_share}.**",
            "",
            f"Requested floor on the real share of the text of every shard: "
            f"{percent(floor) if floor is not None else 'none'} (`--ratio-unit bytes`: the floor counts UTF-8 bytes "
            "of text, so the real fraction of rows above may differ).",
            "",
        ]
    else:
        lines += [
            f"Requested floor on the real fraction of every shard: {percent(floor) if floor is not None else 'none'}.",
            "",
            f"Real share of the text: {text_share} "
            "(the floor counts rows, not text: when one side's documents are longer, this share differs; "
            "`--ratio-unit bytes` puts the floor on the text).",
            "",
        ]
    lines += [
        "Where every input record went (the accounting is "
        f"{'balanced' if balance['balanced'] else 'NOT BALANCED'}):",
        "",
    ]
    fates = ([fate.value, f"{fate.table}/", balance.get(fate.value, 0)] for fate in Fate)
    lines += _table(["fate", "table", "rows"], fates)
    lines += ["Per shard:", ""]
    shard_rows = []
    for shard in data["shards"]:
        classes = shard.get("classes", {})
        shard_rows.append(
            [shard["name"], shard["rows"], classes.get(Origin.REAL.value, 0), classes.get(Origin.SYNTHETIC.value, 0),
             percent(real_fraction(classes)), percent(real_fraction(shard.get("class_text_bytes", {}))),
             shard["bytes"], shard["sha256"]]
        )
    headers = ["shard", "rows", "real", "synthetic", "real fraction", "real share of text", "bytes", "sha256"]
    return lines + _table(headers, shard_rows)


def _removals_section(manifest: Mapping[str, Any]) -> list[str]:
    tables, reasons = manifest.get("tables", {}), manifest.get("reasons", {})
    lines = ["## What was removed", ""]
    for fate in Fate.removals():
        table = fate.table
        lines += [f"### {fate.title}", ""]
        if table not in tables:
            lines += [f"{NOT_RUN}.", ""]
            continue
        counts = reasons.get(table, {})
        lines += [f"{tables[table]['rows']:,} rows in `{table}/`.", ""]
        if counts:
            lines += _table(["reason", "rows"], sorted(counts.items()))
    return lines


def _detector_section(manifest: Mapping[str, Any]) -> list[str]:
    lines = ["## Synthetic-text detector", ""]
    detector = manifest.get("detector")
    if not detector:
        return lines + [f"{NOT_RUN}: no record was scored; `origin` comes from declarations only.", ""]
    threshold = detector.get("real_below")
    if threshold is not None:
        lines += [f"A record counts as real when its `synthetic_score` is below **{threshold:.4g}**.", ""]
    lines += ["Detector and its measured accuracy, as recorded in the manifest:", ""]
    return lines + _table(["figure", "value"], flatten(detector))


def _rarest_first(strata: Mapping[str, Mapping[str, int]]) -> list[tuple[str, Mapping[str, int]]]:
    # Rarest first: the tails are what sampling against collapse must keep.
    return sorted(strata.items(), key=lambda kv: (kv[1].get("in", 0), kv[0]))


def _kept(out: int, total: int) -> str:
    return percent(out / total if total else None)


def _user_strata_table(user_strata: Mapping[str, Mapping[str, int]]) -> list[str]:
    """Per user stratum and origin: documents in, out and kept, and the text kept."""
    ordered = _rarest_first(user_strata)
    shown = ordered[:MAX_STRATA_ROWS]
    rows = []
    for name, c in shown:
        text_in = sum(c.get(f"in_{o.value}_text_bytes", 0) for o in Origin)
        text_out = sum(c.get(f"out_{o.value}_text_bytes", 0) for o in Origin)
        row = [name]
        for o in Origin:
            documents_in, documents_out = c.get(f"in_{o.value}", 0), c.get(f"out_{o.value}", 0)
            row += [documents_in, documents_out, _kept(documents_out, documents_in)]
        rows.append(row + [_kept(text_out, text_in)])
    header = ["user stratum"] + [f"{o.value} {what}" for o in Origin for what in ("in", "out", "kept")] + ["text kept"]
    lines = [f"{len(user_strata):,} user strata (the `--strata-fields` values), rarest first:", ""] + _table(header, rows)
    if len(ordered) > len(shown):
        lines += [f"... and {len(ordered) - len(shown):,} more user strata in `manifest.json`.", ""]
    return lines


def _sampling_section(manifest: Mapping[str, Any]) -> list[str]:
    lines = ["## Strata and tails", ""]
    sampling = manifest.get("sampling")
    if not sampling:
        return lines + [f"{NOT_RUN}: every valid record was kept, without stratified sampling.", ""]
    if "ratio_unit" in sampling:
        unit = "UTF-8 bytes of text" if sampling["ratio_unit"] == RatioUnit.BYTES.value else "documents"
        allocation = sampling.get("options", {}).get("allocation", "the allocation")
        lines += [
            f"Quotas count {unit}. Each origin's budget is allocated by `{allocation}` across the user strata "
            "first, then within each user stratum across its length x topic cells.",
            "",
        ]
    user_strata = sampling.get("user_strata", {})
    if user_strata:
        lines += _user_strata_table(user_strata)
    strata = sampling.get("strata", {})
    if strata:
        ordered = _rarest_first(strata)
        shown = ordered[:MAX_STRATA_ROWS]
        lines += [f"{len(strata):,} {'cells' if user_strata else 'strata'}, rarest first:", ""]
        lines += _table(
            ["stratum", "in", "out", "kept"],
            ([name, c.get("in", 0), c.get("out", 0), _kept(c.get("out", 0), c.get("in", 0))] for name, c in shown),
        )
        if len(ordered) > len(shown):
            lines += [f"... and {len(ordered) - len(shown):,} more strata in `manifest.json`.", ""]
    figures = flatten({k: v for k, v in sampling.items() if k not in ("strata", "user_strata")})
    if figures:
        lines += ["Tail figures (`tail.user_strata` per user stratum, `tail.cells` per cell, in documents):", ""]
        lines += _table(["figure", "value"], figures)
    return lines


def _certified_section(certification: Mapping[str, Any] | None) -> list[str]:
    """The audit's certified lower bound of the real share (``certification.json``), or how to get one."""
    lines = ["## Certified real share", ""]
    if certification is None:
        return lines + [
            "Not certified: the share above counts the records the run decided as it labelled them. "
            "`python -m pipelines.audit` draws a sample to label, `python -m pipelines.certify` bounds the real "
            "share from the labels.",
            "",
        ]
    overall = certification["overall"]
    verdict = floor_verdict(certification) or "no floor was requested"
    unit = "text bytes" if certification["unit"] == "bytes" else "rows"
    lines += [
        f"**{headline(certification)}**: the certified share {verdict}.",
        "",
        f"As labelled by the run: {percent(overall['as_labelled_real_share'])} of {unit}; estimated from the labels: "
        f"{percent(overall['estimated_real_share'])}. Method: {certification['method']}",
        "",
    ]
    rates = [
        ["machine share of undeclared records counted real", "upper", certification["machine_share_of_undeclared_real"]],
        ["human share of undeclared records counted synthetic", "lower", certification["human_share_of_undeclared_synthetic"]],
    ]
    lines += _table(
        ["rate", "labelled", "observed", "estimate", f"bound ({percent(certification['rate_confidence'])} each)"],
        ([name, r["labelled_draws"], r["observed"], percent(r["estimate"]), f"{side} {percent(r[side + '_bound'])}"]
         for name, side, r in rates),
    )
    lines += ["Per shard (pooled bounds on each shard's counts; own sample: the shard's labels alone, "
              "simultaneous over all shards):", ""]
    lines += _table(
        ["shard", "as labelled", "certified", "certified, own sample", "labelled"],
        ([name, percent(s["as_labelled_real_share"]), percent(s["certified_real_share"]),
          percent(s["own_sample_certified_real_share"]), s["labelled_draws"]]
         for name, s in sorted(certification["shards"].items())),
    )
    left_out = certification.get("not_selected")
    if left_out:
        lines += ["Left out by the sampler (`not_selected/`), from its own labels:", ""]
        lines += _table(
            ["counted as", "records", "labelled", "human", "human share", "human records (estimate)"],
            ([name.removeprefix("undeclared_"), e["records"], e["labelled"], e["human"],
              percent(e.get("human_share_estimate")), e.get("human_records_estimate")]
             for name, e in sorted(left_out.items())),
        )
    return lines


def _reproduce_section(manifest: Mapping[str, Any], output_dir: str) -> list[str]:
    config = manifest.get("config", {})
    return [
        "## Reproducing this run",
        "",
        "From the directory the job ran in (input paths are as given), with the same input files:",
        "",
        "```sh",
        reproduce_command(config, output_dir),
        "```",
        "",
        f"The same inputs, configuration and `--seed` give byte-identical shards and the run id `{manifest['run_id']}`. "
        "Beam flags (`--runner`, ...) are not recorded: they change where the job runs, not what it writes.",
        "",
        f"Configuration (hash `{manifest.get('config_hash', '')}`):",
        "",
    ] + _table(["setting", "value"], sorted(config.items()))


def _schema_section() -> list[str]:
    lines = ["## Record schema", "", "Columns of `data/` (see `curation/schema.py`):", ""]
    columns = ([f"`{name}`", arrow_type, "yes" if nullable else "no"] for name, arrow_type, nullable in describe(RECORD_SCHEMA))
    return lines + _table(["column", "type", "nullable"], columns)


def dataset_card(manifest: Mapping[str, Any], output_dir: str,
                 certification: Mapping[str, Any] | None = None) -> str:
    """The card's markdown; ``certification`` is the run's ``certification.json``, when it was audited."""
    package = manifest.get("package", {})
    lines = [
        f"# Curated corpus `{manifest['run_id']}`",
        "",
        f"Written by {package.get('name', 'curation')} {package.get('version', '')} "
        f"(schema version {manifest.get('schema_version', '?')}). Every input record is in exactly one of "
        "`data/`, `rejected/`, `duplicates/`, `not_selected/`; `manifest.json` holds the full accounting, "
        "`croissant.json` the machine-readable description, `report.html` the plots.",
        "",
    ]
    lines += _inputs_section(manifest)
    lines += _output_section(manifest)
    lines += _removals_section(manifest)
    lines += _detector_section(manifest)
    lines += _sampling_section(manifest)
    lines += _certified_section(certification)
    lines += _reproduce_section(manifest, output_dir)
    lines += _schema_section()
    return "\n".join(lines).rstrip("\n") + "\n"


def write_dataset_card(manifest: Mapping[str, Any], output_dir: str, staging_dir: str | None = None) -> str:
    """Writes ``OUTPUT/README.md`` (through Beam's FileSystems, so ``gs://`` works); returns the markdown.

    ``staging_dir``: where the output is being built, if not yet in ``output_dir`` (the card names ``output_dir``).
    """
    card = dataset_card(manifest, output_dir)
    storage.write_bytes(storage.join(staging_dir or output_dir, CARD_FILE), card.encode("utf-8"))
    return card
