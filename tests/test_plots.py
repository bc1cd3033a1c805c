"""The report's SVG charts (curation.plots): ticks, coordinates, escaping."""

import xml.etree.ElementTree as ElementTree

import pytest

from curation.plots import Figure, log_ticks, nice_ticks


def test_nice_ticks_are_round_and_span_the_range():
    assert nice_ticks(0, 1) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert nice_ticks(0, 6000) == [0, 2000, 4000, 6000]  # steps of 1, 2 or 5 times a power of ten, about 5 of them
    assert nice_ticks(0, 7.2) == [0, 2, 4, 6]
    assert nice_ticks(3, 3) == [3]


def test_log_ticks_are_the_powers_of_ten_inside():
    assert log_ticks(0.5, 3000) == [1, 10, 100, 1000]


def test_axes_map_data_to_pixels_with_y_upwards():
    ax = Figure(200, 100).axes(10, 10, 100, 80, x=(0, 10), y=(0, 4))
    assert (ax.px(0), ax.px(10), ax.px(5)) == (10, 110, 60)
    assert (ax.py(0), ax.py(4), ax.py(99)) == (90, 10, 10)  # outside the range: clipped to its edge


def test_a_log_axis_spaces_decades_evenly_and_needs_positive_bounds():
    ax = Figure(200, 100).axes(0, 0, 100, 90, x=(0, 1), y=(1, 1000), log_y=True)
    assert [round(ax.py(v), 6) for v in (1, 10, 100, 1000)] == [90, 60, 30, 0]
    with pytest.raises(ValueError, match="positive"):
        Figure(200, 100).axes(0, 0, 100, 90, x=(0, 1), y=(0, 10), log_y=True)


def test_text_is_escaped_and_the_svg_parses():
    figure = Figure(300, 120)
    ax = figure.axes(40, 20, 200, 80, x=(0, 2), y=(0, 1))
    ax.rect(0, 1, 0, 0.5, "#123456", tooltip='<b>"tip"</b>')
    ax.x_ticks([(0.5, "a<b&c"), (1.5, "d")], slant=True)
    ax.frame("title <i>", x_label="x", y_label="y")
    ax.legend([("real", "#1b7f79", "box"), ("floor", "#c0392b", "dash")], title="origin")
    root = ElementTree.fromstring(figure.svg("plot & title"))
    texts = ["".join(t.itertext()) for t in root.iter("text")]
    assert "a<b&c" in texts and "title <i>" in texts
    assert root.find("title").text == "plot & title"
    assert root.find("rect/title").text == '<b>"tip"</b>'
