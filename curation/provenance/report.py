"""``OUTPUT/report.html``: one self-contained page of plots about a run.

Four plots: records through each stage, the synthetic-score histogram against
the detector's threshold, per-stratum counts in vs out (per user stratum when
the sampler had named fields, with a table of each user stratum's origins), and
each shard's real share (of rows, or of text with ``--ratio-unit bytes``) against
the requested floor. The plots are inline SVG (drawn by :mod:`curation.plots`)
and the CSS is inline, so the file opens anywhere (a bucket browser, an email
attachment) without fetching anything.

Figures come from the manifest, except the score histogram (and the per-source
fallback when there are no strata), which reads just the columns it needs from
the data shards.
"""

from __future__ import annotations

import html
from collections import Counter
from typing import Any, Mapping, Sequence

import pyarrow as pa

from curation.audit.certify import floor_verdict, headline as certified_headline
from curation.plots import Figure, log_ticks, nice_ticks, text_width
from curation.provenance.card import NOT_RUN, format_value, min_real_fraction, percent, ratio_unit
from curation.provenance.manifest import class_totals, data_shards, real_fraction
from curation.schema import UNKNOWN_CLASS, Fate, Origin, RatioUnit
from curation import storage
from curation.storage import REPORT_FILE

CLASS_COLORS = {Origin.REAL.value: "#1b7f79", Origin.SYNTHETIC.value: "#e07b39", UNKNOWN_CLASS: "#a0a0a0"}
IN_COLOR, OUT_COLOR, REMOVED_COLOR, FLOOR_COLOR = "#9bb7d4", "#1f4e79", "#c0392b", "#c0392b"
OTHER_COLOR = "#6c5b7b"
MAX_LABELLED_STRATA = 30  # beyond this, strata are plotted by rank without names
MAX_LABELLED_SHARDS = 24  # beyond this, shard numbers are ticked sparsely
MAX_NAME_CHARS = 40  # longer stratum names are cut on the axis (in full in the bar's tooltip)
SCORE_BINS = 50
# px: the plots' size and the room around each plot area (axis labels, title, legend).
WIDTH, HEIGHT, MESSAGE_HEIGHT = 1000, 400, 80
LEFT, TOP, BOTTOM, LEGEND = 80, 40, 60, 170

STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 0; background: #f4f5f7; color: #222; }
main { max-width: 1120px; margin: 0 auto; padding: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 0 0 8px; }
.sub { color: #666; margin: 0 0 20px; font-size: 13px; }
.figures { display: flex; gap: 12px; flex-wrap: wrap; margin-bottom: 20px; }
.figure { flex: 1 1 0; min-width: 90px; background: #fff; border: 1px solid #dde1e6; border-radius: 6px;
          padding: 10px 14px; }
.figure b { display: block; font-size: 20px; }
.figure span { color: #666; font-size: 12px; }
section { background: #fff; border: 1px solid #dde1e6; border-radius: 6px; padding: 16px; margin-bottom: 16px; }
section p { color: #555; font-size: 13px; margin: 0 0 8px; }
svg { width: 100%; height: auto; display: block; }
table { border-collapse: collapse; font-size: 13px; margin-top: 10px; }
td, th { border-bottom: 1px solid #dde1e6; padding: 3px 10px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
"""


def read_data_columns(manifest: Mapping[str, Any], output_dir: str, columns: Sequence[str]) -> pa.Table:
    """Just ``columns`` of every data shard (Parquet reads only those column chunks)."""
    parts = [storage.read_parquet(storage.join(output_dir, shard["path"]), columns) for shard in data_shards(manifest)]
    return pa.concat_tables(parts) if parts else pa.table({c: pa.array([], pa.null()) for c in columns})


def funnel(manifest: Mapping[str, Any]) -> list[tuple[str, int]]:
    """``(step, records)`` from records read, through the manifest's stages, to the output."""
    balance = manifest["accounting"]
    steps = [("read", balance["records_read"])]
    steps += [(s["stage"], s["records"]) for s in manifest.get("stages", []) if s["stage"] != "output"]
    return steps + [("output", balance["output"])]


def removed_by_fate(manifest: Mapping[str, Any]) -> list[tuple[str, int | None]]:
    """``(fate, rows)`` of every fate but output; None when its table was not written (stage not run)."""
    tables, balance = manifest.get("tables", {}), manifest["accounting"]
    return [(fate.value, balance.get(fate.value, 0) if fate.table in tables else None) for fate in Fate.removals()]


def strata_in_out(manifest: Mapping[str, Any], output_dir: str) -> tuple[str, dict[str, tuple[int, int]]]:
    """``(what the groups are, {group: (in, out)})``: the sampler's user strata (when
    fields were named), else its strata, else input sources."""
    sampling = manifest.get("sampling", {})
    fields = sampling.get("options", {}).get("strata_fields")
    if fields and sampling.get("user_strata"):
        return "user stratum", {name: (c.get("in", 0), c.get("out", 0)) for name, c in sampling["user_strata"].items()}
    strata = sampling.get("strata")
    if strata:
        return "stratum", {name: (c.get("in", 0), c.get("out", 0)) for name, c in strata.items()}
    sources_in = Counter()
    for f in manifest.get("inputs", []):
        sources_in[f["source"]] += f["records"]
    sources_out = Counter(read_data_columns(manifest, output_dir, ["source"]).column("source").to_pylist())
    return "source", {s: (sources_in[s], sources_out[s]) for s in sorted(set(sources_in) | set(sources_out))}


def _integer_ticks(high: float) -> list[tuple[float, str]]:
    return [(t, f"{t:,.0f}") for t in nice_ticks(0, high) if t == int(t)]


def _message(message: str) -> str:
    """A short panel standing in for a plot that has nothing to show."""
    figure = Figure(WIDTH, MESSAGE_HEIGHT)
    figure.message(message)
    return figure.svg(message)


def _horizontal_bars(figure: Figure, left: float, width: float, title: str, bars: Sequence[tuple[str, int | None]],
                     color: str) -> None:
    """Labelled bars, first on top; a None value (stage not run) is an empty bar labelled so."""
    names_width = max(text_width(name) for name, _ in bars) + 12
    values = [n or 0 for _, n in bars]
    top = TOP
    ax = figure.axes(left + names_width, top, width - names_width - 70, figure.height - top - BOTTOM,
                     x=(0, max(values) * 1.2 or 1), y=(0, len(bars)))
    centers = [len(bars) - i - 0.5 for i in range(len(bars))]
    ax.y_ticks([(c, name) for c, (name, _) in zip(centers, bars)], grid=False)
    ax.x_ticks(_integer_ticks(max(values) * 1.2 or 1))
    for center, (name, n) in zip(centers, bars):
        ax.rect(0, n or 0, center - 0.35, center + 0.35, color, tooltip=f"{name}: {NOT_RUN if n is None else n}")
        ax.label(n or 0, center, NOT_RUN if n is None else f"{n:,}", dx=4, dy=4)
    ax.frame(title, x_label="records")


def funnel_plot(manifest: Mapping[str, Any]) -> str:
    steps = funnel(manifest)
    figure = Figure(WIDTH, TOP + BOTTOM + 34 * len(steps))
    _horizontal_bars(figure, 0, WIDTH * 0.6, "Funnel", steps, OUT_COLOR)
    _horizontal_bars(figure, WIDTH * 0.6, WIDTH * 0.4, "Removed, by fate", removed_by_fate(manifest), REMOVED_COLOR)
    return figure.svg("Records through each stage")


def score_histogram_plot(manifest: Mapping[str, Any], output_dir: str) -> str:
    rows = read_data_columns(manifest, output_dir, ["synthetic_score", "origin"]).to_pylist()
    scored = [r for r in rows if r["synthetic_score"] is not None]
    if not scored:
        return _message(f"Synthetic-text detector {NOT_RUN}: no output row has a synthetic_score")
    # Stacked by the origin finally assigned, so records the threshold relabelled stand out.
    counts: dict[str, list[int]] = {}
    for r in scored:
        bins = counts.setdefault(r["origin"] or UNKNOWN_CLASS, [0] * SCORE_BINS)
        bins[min(int(r["synthetic_score"] * SCORE_BINS), SCORE_BINS - 1)] += 1  # 1.0 in the last bin
    origins = sorted(counts)
    tallest = max(sum(counts[o][b] for o in origins) for b in range(SCORE_BINS))
    figure = Figure(WIDTH, HEIGHT)
    ax = figure.axes(LEFT, TOP, WIDTH - LEFT - LEGEND, HEIGHT - TOP - BOTTOM, x=(0, 1), y=(0, tallest * 1.1))
    ax.y_ticks(_integer_ticks(tallest * 1.1))
    ax.x_ticks([(t, f"{t:.1f}") for t in nice_ticks(0, 1)])
    for b in range(SCORE_BINS):
        base = 0
        for origin in origins:
            n = counts[origin][b]
            if n:
                ax.rect(b / SCORE_BINS, (b + 1) / SCORE_BINS, base, base + n, CLASS_COLORS.get(origin, OTHER_COLOR),
                        tooltip=f"{origin}, score {b / SCORE_BINS:.2f}-{(b + 1) / SCORE_BINS:.2f}: {n:,}")
                base += n
    legend = [(o, CLASS_COLORS.get(o, OTHER_COLOR), "box") for o in origins]
    threshold = manifest.get("detector", {}).get("real_below")
    if threshold is not None:
        ax.vline(threshold, FLOOR_COLOR, dashed=True, width=2)
        legend.append((f"real_below = {threshold:.3g}", FLOOR_COLOR, "dash"))
    ax.legend(legend, title="origin")
    unscored = len(rows) - len(scored)
    ax.frame(f"Synthetic-score histogram: {len(scored):,} scored, {unscored:,} not scored",
             x_label="synthetic_score (detector's P(synthetic))", y_label="records")
    return figure.svg("Synthetic-text scores")


def _short(name: str) -> str:
    return name if len(name) <= MAX_NAME_CHARS else name[: MAX_NAME_CHARS - 1] + "\u2026"


def strata_plot(manifest: Mapping[str, Any], output_dir: str) -> str:
    kind, groups = strata_in_out(manifest, output_dir)
    if not groups:
        return _message("no records")
    ordered = sorted(groups.items(), key=lambda kv: (-kv[1][0], kv[0]))
    ins = [max(i, 0) for _, (i, _) in ordered]
    outs = [o for _, (_, o) in ordered]
    labelled = len(ordered) <= MAX_LABELLED_STRATA
    crowded = labelled and len(ordered) > 6  # slant long names so they do not overlap
    names = [_short(name) for name, _ in ordered]
    bottom = BOTTOM + (max(text_width(n) for n in names) * 0.5 if crowded else 0)
    figure = Figure(WIDTH, HEIGHT + bottom - BOTTOM)
    # Bars on a log axis start at its bottom: pinned below 1 so heights compare, not an autoscaled gap.
    low, high = 0.5, max(ins + outs + [1]) * 3
    ax = figure.axes(LEFT, TOP, WIDTH - LEFT - LEGEND, HEIGHT - TOP - BOTTOM, x=(-0.6, len(ordered) - 0.4),
                     y=(low, high), log_y=True)
    ax.y_ticks([(t, f"{t:,.0f}") for t in log_ticks(1, high)])
    series = (("in", ins, IN_COLOR, -0.2), ("out", outs, OUT_COLOR, 0.2))
    if labelled:
        for side, values, color, shift in series:
            for i, (name, value) in enumerate(zip(names, values)):
                ax.rect(i + shift - 0.2, i + shift + 0.2, low, max(value, low), color, tooltip=f"{name} {side}: {value:,}")
                ax.label(i + shift, max(value, low), f"{value:,}", anchor="middle", dy=-4)
        ax.x_ticks(list(enumerate(names)), slant=crowded)
        x_label = ""
    else:
        for side, values, color, _ in series:
            ax.polyline([(i, max(v, low)) for i, v in enumerate(values)], color)
        ax.x_ticks([(t, f"{t:,.0f}") for t in nice_ticks(0, len(ordered) - 1) if t == int(t)])
        x_label = f"{kind}, by input size (rank)"
    ax.legend([("in", IN_COLOR, "box"), ("out", OUT_COLOR, "box")])
    titles = {"stratum": "Per-stratum records in vs out", "user stratum": "Per-user-stratum records in vs out"}
    ax.frame(titles.get(kind, f"Per-source records in vs out (sampling {NOT_RUN})"), x_label=x_label,
             y_label="records (log scale)")
    return figure.svg("Strata in vs out")


def shard_real_fraction_plot(manifest: Mapping[str, Any]) -> str:
    shards = data_shards(manifest)
    if not shards:
        return _message("no data shards")
    known = list(CLASS_COLORS)  # real at the bottom, where the floor line is read against it
    present = {c for s in shards for c in s.get("classes", {})}
    classes = sorted(present, key=lambda c: (known.index(c) if c in known else len(known), c))
    # The floor's unit: rows, or text bytes (then the rows' share is in the title).
    in_bytes = ratio_unit(manifest) == RatioUnit.BYTES.value
    measure = "class_text_bytes" if in_bytes else "classes"
    figure = Figure(WIDTH, HEIGHT)
    ax = figure.axes(LEFT, TOP, WIDTH - LEFT - LEGEND, HEIGHT - TOP - BOTTOM, x=(-0.6, len(shards) - 0.4), y=(0, 1))
    ax.y_ticks([(t, f"{t:.0%}") for t in nice_ticks(0, 1)])
    for i, shard in enumerate(shards):
        sizes = shard.get(measure, {})
        total, base = sum(sizes.values()), 0.0
        for cls in classes:
            share = sizes.get(cls, 0) / total if total else 0.0
            if share:
                ax.rect(i - 0.4, i + 0.4, base, base + share, CLASS_COLORS.get(cls, OTHER_COLOR),
                        tooltip=f"shard {i}, {cls}: {share:.2%}")
                base += share
    ticks = range(len(shards)) if len(shards) <= MAX_LABELLED_SHARDS else [
        t for t in nice_ticks(0, len(shards) - 1) if t == int(t)
    ]
    ax.x_ticks([(t, f"{t:.0f}") for t in ticks])
    legend = [(cls, CLASS_COLORS.get(cls, OTHER_COLOR), "box") for cls in classes]
    floor = min_real_fraction(manifest)
    if floor is not None:
        ax.hline(floor, FLOOR_COLOR, dashed=True, width=2)
        legend.append((f"real floor {percent(floor)}", FLOOR_COLOR, "dash"))
    ax.legend(legend)
    rows_share = percent(real_fraction(class_totals(manifest)))
    text_share = percent(real_fraction(class_totals(manifest, "class_text_bytes")))
    floor_note = "" if floor is not None else " (no floor requested)"
    what = "Real share of text" if in_bytes else "Real fraction"
    ax.frame(f"{what} per shard: overall {rows_share} of rows, {text_share} of text{floor_note}",
             x_label="data shard", y_label="share of text (UTF-8 bytes)" if in_bytes else "share of rows")
    return figure.svg("Real share per shard")


def _headline(manifest: Mapping[str, Any]) -> list[tuple[str, str]]:
    balance = manifest["accounting"]
    figures = [("records read", format_value(balance["records_read"])), ("output rows", format_value(balance["output"])),
               ("real fraction", percent(real_fraction(class_totals(manifest)))),
               ("real share of text", percent(real_fraction(class_totals(manifest, "class_text_bytes"))))]
    floor = min_real_fraction(manifest)
    if floor is not None:
        unit = "text" if ratio_unit(manifest) == RatioUnit.BYTES.value else "rows"
        figures.append((f"real floor per shard, of {unit}", percent(floor)))
    figures += [(fate, NOT_RUN if n is None else format_value(n)) for fate, n in removed_by_fate(manifest)]
    return figures + [("accounting", "balanced" if balance["balanced"] else "NOT BALANCED")]


def certified_html(certification: Mapping[str, Any] | None) -> str:
    """The "certified" section: the audit's lower bound of the real share, overall and per shard."""
    escape = html.escape
    if certification is None:
        return ("<section><h2>Certified real share</h2><p>Not certified: no audit sample was labelled "
                "(python -m pipelines.audit, then python -m pipelines.certify).</p></section>")
    overall = certification["overall"]
    verdict = floor_verdict(certification)
    verdict = f"The certified share {verdict}." if verdict else ""
    rows = "".join(
        f"<tr><td>{escape(name)}</td><td>{percent(s['as_labelled_real_share'])}</td>"
        f"<td>{percent(s['certified_real_share'])}</td><td>{percent(s['own_sample_certified_real_share'])}</td>"
        f"<td>{s['labelled_draws']:,}</td></tr>"
        for name, s in sorted(certification["shards"].items())
    )
    return (
        f"<section><h2>Certified real share</h2><p><b>{escape(certified_headline(certification))}</b>. {escape(verdict)}</p>"
        f"<p>As labelled by the run: {percent(overall['as_labelled_real_share'])}; estimated from the labels: "
        f"{percent(overall['estimated_real_share'])}. {escape(certification['method'])}</p>"
        "<table><tr><th>shard</th><th>as labelled</th><th>certified</th><th>certified, own sample</th>"
        f"<th>labelled</th></tr>{rows}</table></section>"
    )


def user_strata_rows(manifest: Mapping[str, Any]) -> list[list[str]]:
    """Per user stratum (rarest first): documents in and out per origin, and the text kept."""
    user_strata = manifest.get("sampling", {}).get("user_strata", {})
    rows = []
    for name, c in sorted(user_strata.items(), key=lambda kv: (kv[1].get("in", 0), kv[0]))[:MAX_LABELLED_STRATA]:
        text_in = sum(c.get(f"in_{o.value}_text_bytes", 0) for o in Origin)
        text_out = sum(c.get(f"out_{o.value}_text_bytes", 0) for o in Origin)
        row = [name] + [format_value(c.get(f"{side}_{o.value}", 0)) for o in Origin for side in ("in", "out")]
        rows.append(row + [percent(text_out / text_in if text_in else None)])
    return rows


def _html_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    escape = html.escape
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _plot_sections(manifest: Mapping[str, Any], shards_dir: str) -> list[tuple[str, str, str, str]]:
    """``(title, note, inline SVG, HTML table or "")`` of the four plots, from the shards in ``shards_dir``."""
    in_bytes = ratio_unit(manifest) == RatioUnit.BYTES.value
    user_strata = user_strata_rows(manifest)
    strata_table = ""
    if user_strata:
        header = ["user stratum"] + [f"{o.value} {side}" for o in Origin for side in ("in", "out")] + ["text kept"]
        strata_table = _html_table(header, user_strata)
    return [
        ("Records through each stage", "From records read to rows written; the right panel splits what left by fate.",
         funnel_plot(manifest), ""),
        ("Synthetic-text scores",
         "The detector's P(synthetic) of every output row, with the threshold below which a record counts as real.",
         score_histogram_plot(manifest, shards_dir), ""),
        ("Strata in vs out", "Records per stratum before and after sampling (log scale): the tails must survive. "
         "The table lists the rarest user strata by origin.",
         strata_plot(manifest, shards_dir), strata_table),
        ("Real share of text per shard" if in_bytes else "Real fraction per shard",
         f"Share of each class in every data shard ({'of its text' if in_bytes else 'of its rows'}), "
         "against the requested floor.",
         shard_real_fraction_plot(manifest), ""),
    ]


def report_html(manifest: Mapping[str, Any], output_dir: str, shards_dir: str | None = None,
                certification: Mapping[str, Any] | None = None) -> str:
    """The report page: headline figures, four embedded plots and, when the run was audited, its certified share.

    ``shards_dir``: where the shards are now, if not yet in ``output_dir`` (the page names ``output_dir``).
    """
    sections = _plot_sections(manifest, shards_dir or output_dir)
    escape = html.escape
    headline = "".join(
        f'<div class="figure"><b>{escape(value)}</b><span>{escape(name)}</span></div>' for name, value in _headline(manifest)
    )
    body = "".join(
        f"<section><h2>{escape(title)}</h2><p>{escape(note)}</p>{svg}{table}</section>"
        for title, note, svg, table in sections
    )
    package = manifest.get("package", {})
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>curation report {escape(manifest['run_id'])}</title><style>{STYLE}</style></head>"
        f"<body><main><h1>Curation run {escape(manifest['run_id'])}</h1>"
        f'<p class="sub">{escape(package.get("name", "curation"))} {escape(package.get("version", ""))}, '
        f"output {escape(output_dir)}, config hash {escape(manifest.get('config_hash', ''))}</p>"
        f'<div class="figures">{headline}</div>{body}{certified_html(certification)}</main></body></html>\n'
    )


def write_report(manifest: Mapping[str, Any], output_dir: str, staging_dir: str | None = None) -> str:
    """Writes ``OUTPUT/report.html`` (through Beam's FileSystems); returns the HTML.

    ``staging_dir``: where the output is being built, if not yet in ``output_dir``.
    """
    page = report_html(manifest, output_dir, staging_dir)
    storage.write_bytes(storage.join(staging_dir or output_dir, REPORT_FILE), page.encode("utf-8"))
    return page
