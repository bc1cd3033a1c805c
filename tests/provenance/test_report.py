"""report.html is one self-contained page with the four plots."""

import os
import re
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ElementTree

import pytest

from curation.provenance.report import REPORT_FILE, funnel, removed_by_fate, report_html, strata_in_out, write_report
from tests.factories import N_GOOD, bytes_run

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _plots(page: str) -> list[ElementTree.Element]:
    """The page's inline SVG plots, each parsed (so well-formed: every user string escaped)."""
    return [ElementTree.fromstring(svg) for svg in re.findall(r"<svg .*?</svg>", page, re.S)]


def _assert_self_contained_with_four_plots(page: str) -> None:
    plots = _plots(page)
    assert len(plots) == 4
    for plot in plots:
        assert plot.find("title") is not None and len(plot) > 1  # a title and something drawn
    # Nothing fetched from anywhere: no URLs, images, scripts, stylesheets or CSS imports.
    for external in ("http://", "https://", "//", "<img", "<script", "<link", "url(", "@import", "href"):
        assert external not in page


def test_report_of_a_run_is_self_contained(curated_output):
    out, manifest, _ = curated_output
    page = write_report(manifest, out)
    with open(os.path.join(out, REPORT_FILE), encoding="utf-8") as f:
        assert f.read() == page
    _assert_self_contained_with_four_plots(page)
    assert manifest["run_id"] in page


def test_funnel_goes_from_read_through_stages_to_output(full_output):
    _, manifest = full_output
    assert funnel(manifest) == [("read", 16), ("valid", 15), ("deduplicated", 14), ("output", 12)]
    assert removed_by_fate(manifest) == [("rejected", 1), ("duplicate", 1), ("not_selected", 2)]


def test_stages_that_did_not_run_are_none_not_zero(curated_output):
    _, manifest, _ = curated_output
    removed = dict(removed_by_fate(manifest))
    assert removed["rejected"] == manifest["accounting"]["rejected"] > 0
    assert removed["not_selected"] is None  # no sampler in this job yet: "not run" on the plot


def test_strata_fall_back_to_sources_when_sampling_did_not_run(curated_output, full_output):
    out, manifest, _ = curated_output
    assert strata_in_out(manifest, out) == ("source", {"mixed": (manifest["accounting"]["records_read"], N_GOOD)})
    full_dir, full_manifest = full_output
    assert strata_in_out(full_manifest, full_dir) == (
        "stratum", {"topic-0": (7, 4), "topic-1": (4, 4), "topic-2": (4, 4)},
    )


def test_report_with_every_stage_renders_in_chromium(full_output):
    """Screenshots the report headless; set REPORT_SCREENSHOT=path.png to keep the image and look at it."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed")
    out, manifest = full_output
    _assert_self_contained_with_four_plots(write_report(manifest, out))
    screenshot = os.environ.get("REPORT_SCREENSHOT") or os.path.join(out, "report.png")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run(
            [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", f"--screenshot={screenshot}", "--window-size=1200,2600",
             "file://" + os.path.abspath(os.path.join(out, REPORT_FILE))],
            check=True, capture_output=True, timeout=120,
        )
    with open(screenshot, "rb") as f:
        assert f.read(8) == PNG_MAGIC


HOSTILE = '<b a="1">x</b> & $\\frac{$'  # markup, an entity and math syntax: all plain text on the page


def test_names_are_plotted_as_plain_text(full_output):
    out, manifest = full_output
    strata = {HOSTILE + f" {i}": counts for i, counts in enumerate(manifest["sampling"]["strata"].values())}
    hostile_strata = {**manifest, "sampling": {**manifest["sampling"], "strata": strata}}
    # Without strata the plot names the sources, from the inputs and from the data shards.
    hostile_sources = {**manifest, "sampling": {}, "inputs": [{**f, "source": HOSTILE} for f in manifest["inputs"]]}
    for hostile in (hostile_strata, hostile_sources):
        page = report_html(hostile, out)
        _assert_self_contained_with_four_plots(page)
        strata_plot = _plots(page)[2]
        assert any(HOSTILE in "".join(t.itertext()) for t in strata_plot.iter("text"))
        assert "<b " not in page


def test_the_same_manifest_gives_the_same_page(full_output):
    out, manifest = full_output
    assert report_html(manifest, out) == report_html(manifest, out)


def test_many_strata_are_plotted_by_rank(full_output):
    out, manifest = full_output
    strata = {f"s{i}": {"in": 100 - i, "out": (100 - i) // 2} for i in range(40)}
    page = report_html({**manifest, "sampling": {**manifest["sampling"], "strata": strata}}, out)
    _assert_self_contained_with_four_plots(page)
    plot = _plots(page)[2]
    assert len(list(plot.iter("polyline"))) == 2  # in and out, one line each
    assert "stratum, by input size (rank)" in "".join(plot.itertext())


def test_report_shows_user_strata_by_origin_and_the_floor_unit(full_output):
    out, manifest = full_output
    manifest = bytes_run(manifest)
    assert strata_in_out(manifest, out) == ("user stratum", {"genre=a": (10, 5), "genre=b": (2, 2)})
    page = report_html(manifest, out)
    _assert_self_contained_with_four_plots(page)
    assert "<td>genre=b</td><td>2</td><td>2</td><td>0</td><td>0</td><td>100.00%</td>" in page
    assert "real floor per shard, of text" in page and "Real share of text per shard" in page
