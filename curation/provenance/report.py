"""``OUTPUT/report.html``: one self-contained page of plots about a run.

Four plots: records through each stage, the synthetic-score histogram against
the detector's threshold, per-stratum counts in vs out (per user stratum when
the sampler had named fields, with a table of each user stratum's origins), and
each shard's real share (of rows, or of text with ``--ratio-unit bytes``) against
the requested floor. PNGs are embedded as base64 data URIs
and the CSS is inline, so the file opens anywhere (a bucket browser, an email
attachment) without fetching anything.

Figures come from the manifest, except the score histogram (and the per-source
fallback when there are no strata), which reads just the columns it needs from
the data shards.
"""

from __future__ import annotations

import base64
import html
import io
from collections import Counter
from typing import Any, Mapping, Sequence

import pyarrow as pa

# Figure + FigureCanvasAgg instead of pyplot: the Agg backend without touching
# matplotlib's global state (a host process may have chosen another backend).
from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

from curation.audit.certify import floor_verdict, headline as certified_headline
from curation.provenance.card import NOT_RUN, format_value, min_real_fraction, percent, ratio_unit
from curation.provenance.manifest import class_totals, data_shards, real_fraction
from curation.schema import UNKNOWN_CLASS, Fate, Origin, RatioUnit
from curation import storage
from curation.storage import REPORT_FILE

CLASS_COLORS = {Origin.REAL.value: "#1b7f79", Origin.SYNTHETIC.value: "#e07b39", UNKNOWN_CLASS: "#a0a0a0"}
IN_COLOR, OUT_COLOR, REMOVED_COLOR, FLOOR_COLOR = "#9bb7d4", "#1f4e79", "#c0392b", "#c0392b"
MAX_LABELLED_STRATA = 30  # beyond this, strata are plotted by rank without names
MAX_LABELLED_SHARDS = 24  # beyond this, shard numbers are ticked sparsely
FIGURE_WIDTH, FIGURE_HEIGHT, MESSAGE_HEIGHT = 10, 4.2, 1.2  # inches
DPI = 110
# Source names, strata and metadata values are the user's text, never markup: "$" must
# not start mathtext, nor a host's text.usetex send them to LaTeX. Set while the
# plots are built and drawn, so every text artist (ticks made at draw time too) has it.
PLAIN_TEXT = {"text.parse_math": False, "text.usetex": False}

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
img { max-width: 100%; height: auto; display: block; }
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


def _png_data_uri(figure: Figure) -> str:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _new_figure(ncols: int = 1, height: float = FIGURE_HEIGHT, **grid) -> tuple[Figure, list]:
    figure = Figure(figsize=(FIGURE_WIDTH, height), layout="constrained")
    axes = figure.subplots(1, ncols, **grid)
    axes = list(axes) if ncols > 1 else [axes]
    for ax in axes:
        ax.spines[["top", "right"]].set_visible(False)
    return figure, axes


def _message_png(message: str) -> str:
    """A short panel standing in for a plot that has nothing to show."""
    figure, (ax,) = _new_figure(height=MESSAGE_HEIGHT)
    ax.set_axis_off()
    ax.text(0.5, 0.5, message, ha="center", va="center", fontsize=14, color="#777",
            bbox={"boxstyle": "round,pad=1", "fc": "#f4f5f7", "ec": "#ccc"}, transform=ax.transAxes)
    return _png_data_uri(figure)


def _label_bars(ax, bars, values: Sequence[int | None]) -> None:
    ax.bar_label(bars, labels=[NOT_RUN if v is None else f"{v:,}" for v in values], padding=3, fontsize=9)


def _horizontal_bars(ax, title: str, bars: Sequence[tuple[str, int | None]], color: str) -> None:
    """Labelled bars, first on top; a None value (stage not run) is an empty bar labelled so."""
    values = [n or 0 for _, n in bars]
    drawn = ax.barh([name for name, _ in bars], values, color=color)
    _label_bars(ax, drawn, [n for _, n in bars])
    ax.invert_yaxis()
    ax.set_xlim(0, max(values) * 1.2 or 1)  # room for the labels
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("records")
    ax.set_title(title, loc="left")


def funnel_plot(manifest: Mapping[str, Any]) -> str:
    figure, (ax_funnel, ax_removed) = _new_figure(2, width_ratios=[3, 2])
    _horizontal_bars(ax_funnel, "Funnel", funnel(manifest), OUT_COLOR)
    _horizontal_bars(ax_removed, "Removed, by fate", removed_by_fate(manifest), REMOVED_COLOR)
    return _png_data_uri(figure)


def score_histogram_plot(manifest: Mapping[str, Any], output_dir: str) -> str:
    rows = read_data_columns(manifest, output_dir, ["synthetic_score", "origin"]).to_pylist()
    scored = [r for r in rows if r["synthetic_score"] is not None]
    if not scored:
        return _message_png(f"Synthetic-text detector {NOT_RUN}: no output row has a synthetic_score")
    figure, (ax,) = _new_figure()
    # Stacked by the origin finally assigned, so records the threshold relabelled stand out.
    by_origin: dict[str, list[float]] = {}
    for r in scored:
        by_origin.setdefault(r["origin"] or UNKNOWN_CLASS, []).append(r["synthetic_score"])
    origins = sorted(by_origin)
    ax.hist([by_origin[o] for o in origins], bins=50, range=(0.0, 1.0), stacked=True, label=origins,
            color=[CLASS_COLORS.get(o, "#6c5b7b") for o in origins])
    threshold = manifest.get("detector", {}).get("real_below")
    if threshold is not None:
        ax.axvline(threshold, color=FLOOR_COLOR, linestyle="--", linewidth=2, label=f"real_below = {threshold:.3g}")
    ax.set_xlim(0, 1)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("synthetic_score (detector's P(synthetic))")
    ax.set_ylabel("records")
    ax.legend(frameon=False, title="origin", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    unscored = len(rows) - len(scored)
    ax.set_title(f"Synthetic-score histogram: {len(scored):,} scored, {unscored:,} not scored", loc="left")
    return _png_data_uri(figure)


def strata_plot(manifest: Mapping[str, Any], output_dir: str) -> str:
    kind, groups = strata_in_out(manifest, output_dir)
    if not groups:
        return _message_png("no records")
    figure, (ax,) = _new_figure()
    ordered = sorted(groups.items(), key=lambda kv: (-kv[1][0], kv[0]))
    ins = [max(i, 0) for _, (i, _) in ordered]
    outs = [o for _, (_, o) in ordered]
    positions = range(len(ordered))
    if len(ordered) <= MAX_LABELLED_STRATA:
        width = 0.4
        _label_bars(ax, ax.bar([p - width / 2 for p in positions], ins, width, label="in", color=IN_COLOR), ins)
        _label_bars(ax, ax.bar([p + width / 2 for p in positions], outs, width, label="out", color=OUT_COLOR), outs)
        crowded = len(ordered) > 6  # slant long names so they do not overlap
        ax.set_xticks(list(positions), [name for name, _ in ordered], rotation=30 if crowded else 0,
                      ha="right" if crowded else "center")
    else:
        ax.plot(positions, ins, "o-", ms=3, label="in", color=IN_COLOR)
        ax.plot(positions, outs, "o-", ms=3, label="out", color=OUT_COLOR)
        ax.set_xlabel(f"{kind}, by input size (rank)")
    ax.set_yscale("log")
    # Bars on a log axis start at its bottom: pin it below 1 so heights compare, not the autoscaled gap.
    ax.set_ylim(bottom=0.5, top=max(ins + outs) * 3)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:,.0f}"))
    ax.set_ylabel("records (log scale)")
    ax.legend(frameon=False)
    titles = {"stratum": "Per-stratum records in vs out", "user stratum": "Per-user-stratum records in vs out"}
    title = titles.get(kind, f"Per-source records in vs out (sampling {NOT_RUN})")
    ax.set_title(title, loc="left")
    return _png_data_uri(figure)


def shard_real_fraction_plot(manifest: Mapping[str, Any]) -> str:
    shards = data_shards(manifest)
    if not shards:
        return _message_png("no data shards")
    figure, (ax,) = _new_figure()
    positions = list(range(len(shards)))
    bottom = [0.0] * len(shards)
    known = list(CLASS_COLORS)  # real at the bottom, where the floor line is read against it
    present = {c for s in shards for c in s.get("classes", {})}
    classes = sorted(present, key=lambda c: (known.index(c) if c in known else len(known), c))
    # The floor's unit: rows, or text bytes (then the rows' share is in the title).
    in_bytes = ratio_unit(manifest) == RatioUnit.BYTES.value
    measure = "class_text_bytes" if in_bytes else "classes"
    for cls in classes:
        shares = [s.get(measure, {}).get(cls, 0) / sum(s.get(measure, {}).values()) if sum(s.get(measure, {}).values())
                  else 0.0 for s in shards]
        ax.bar(positions, shares, bottom=bottom, label=cls, color=CLASS_COLORS.get(cls, "#6c5b7b"), width=0.8)
        bottom = [b + v for b, v in zip(bottom, shares)]
    floor = min_real_fraction(manifest)
    if floor is not None:
        ax.axhline(floor, color=FLOOR_COLOR, linestyle="--", linewidth=2, label=f"real floor {percent(floor)}")
    ax.set_ylim(0, 1.0)
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    if len(shards) <= MAX_LABELLED_SHARDS:
        ax.set_xticks(positions)
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("data shard")
    ax.set_ylabel("share of text (UTF-8 bytes)" if in_bytes else "share of rows")
    rows_share = percent(real_fraction(class_totals(manifest)))
    text_share = percent(real_fraction(class_totals(manifest, "class_text_bytes")))
    floor_note = "" if floor is not None else " (no floor requested)"
    what = "Real share of text" if in_bytes else "Real fraction"
    ax.set_title(f"{what} per shard: overall {rows_share} of rows, {text_share} of text{floor_note}", loc="left")
    ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _png_data_uri(figure)


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
    """``(title, note, PNG data URI, HTML table or "")`` of the four plots, from the shards in ``shards_dir``."""
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
    with rc_context(PLAIN_TEXT):
        sections = _plot_sections(manifest, shards_dir or output_dir)
    escape = html.escape
    headline = "".join(
        f'<div class="figure"><b>{escape(value)}</b><span>{escape(name)}</span></div>' for name, value in _headline(manifest)
    )
    body = "".join(
        f'<section><h2>{escape(title)}</h2><p>{escape(note)}</p><img alt="{escape(title)}" src="{uri}">{table}</section>'
        for title, note, uri, table in sections
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
