"""Small SVG charts written as text: bars, lines and reference lines on linear or log axes.

The run report embeds its plots inline, so the page stays one self-contained
file. Drawing them here, rather than with a plotting library, keeps them out of
every run's fixed cost (matplotlib's import and rendering took about 1.5 s of a
20-document run) and the output deterministic: the same figures give the same bytes.
"""

from __future__ import annotations

import html
import math
from typing import Iterable, Sequence

FONT = 12  # px; titles a little larger
CHAR_WIDTH = 0.6  # average glyph width per px of font size, for room and truncation
TITLE_HEIGHT = 26
GRID_COLOR, AXIS_COLOR, LABEL_COLOR = "#e3e6ea", "#555", "#333"


def _escape(text: str) -> str:
    return html.escape(str(text), quote=True)


def _num(value: float) -> str:
    """Pixel coordinates to 0.1 px: short, and exactly reproducible."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def text_width(text: str, size: float = FONT) -> float:
    return len(text) * size * CHAR_WIDTH


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round values (1, 2 or 5 times a power of ten apart) spanning ``[low, high]``."""
    if high <= low:
        return [low]
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step - 1e-9) * step
    ticks, value = [], first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    return ticks


def log_ticks(low: float, high: float) -> list[float]:
    """Powers of ten within ``[low, high]`` (both positive)."""
    return [10.0 ** e for e in range(math.ceil(math.log10(low)), math.floor(math.log10(high)) + 1)]


class Axes:
    """One plot area of a :class:`Figure`: data coordinates in, SVG marks out.

    ``x`` and ``y`` are the data ranges shown; ``log_y`` draws y on a log scale
    (both bounds positive). Marks outside the range are clipped to it.
    """

    def __init__(self, figure: "Figure", left: float, top: float, width: float, height: float,
                 x: tuple[float, float], y: tuple[float, float], log_y: bool = False):
        if log_y and min(y) <= 0:
            raise ValueError(f"a log axis needs positive bounds, got {y}")
        self._figure, self._log_y = figure, log_y
        self.left, self.top, self.width, self.height = left, top, width, height
        self._x, self._y = x, y

    def px(self, x: float) -> float:
        low, high = self._x
        x = min(max(x, low), high)
        return self.left + (x - low) / (high - low) * self.width

    def py(self, y: float) -> float:
        low, high = self._y
        y = min(max(y, low), high)
        if self._log_y:
            low, high, y = math.log10(low), math.log10(high), math.log10(y)
        return self.top + self.height - (y - low) / (high - low) * self.height

    def _add(self, element: str) -> None:
        self._figure.elements.append(element)

    def rect(self, x0: float, x1: float, y0: float, y1: float, color: str, tooltip: str | None = None) -> None:
        left, right = sorted((self.px(x0), self.px(x1)))
        top, bottom = sorted((self.py(y0), self.py(y1)))
        title = f"<title>{_escape(tooltip)}</title>" if tooltip else ""
        self._add(f'<rect x="{_num(left)}" y="{_num(top)}" width="{_num(right - left)}" '
                  f'height="{_num(bottom - top)}" fill="{color}">{title}</rect>')

    def hline(self, y: float, color: str, dashed: bool = False, width: float = 1) -> None:
        self._line(self.left, self.py(y), self.left + self.width, self.py(y), color, dashed, width)

    def vline(self, x: float, color: str, dashed: bool = False, width: float = 1) -> None:
        self._line(self.px(x), self.top, self.px(x), self.top + self.height, color, dashed, width)

    def _line(self, x0, y0, x1, y1, color: str, dashed: bool, width: float) -> None:
        dash = ' stroke-dasharray="6 4"' if dashed else ""
        self._add(f'<line x1="{_num(x0)}" y1="{_num(y0)}" x2="{_num(x1)}" y2="{_num(y1)}" '
                  f'stroke="{color}" stroke-width="{_num(width)}"{dash}/>')

    def polyline(self, points: Iterable[tuple[float, float]], color: str, markers: bool = True) -> None:
        pixels = [(self.px(x), self.py(y)) for x, y in points]
        path = " ".join(f"{_num(x)},{_num(y)}" for x, y in pixels)
        self._add(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="1.5"/>')
        if markers:
            self._add("".join(f'<circle cx="{_num(x)}" cy="{_num(y)}" r="2.5" fill="{color}"/>' for x, y in pixels))

    def label(self, x: float, y: float, text: str, anchor: str = "start", dx: float = 0, dy: float = 0,
              size: float = FONT - 2, color: str = LABEL_COLOR) -> None:
        """Text at a data point, shifted by ``dx``, ``dy`` pixels."""
        self._figure.text(self.px(x) + dx, self.py(y) + dy, text, anchor=anchor, size=size, color=color)

    def x_ticks(self, ticks: Sequence[tuple[float, str]], slant: bool = False) -> None:
        bottom = self.top + self.height
        for value, text in ticks:
            x = self.px(value)
            self._line(x, bottom, x, bottom + 4, AXIS_COLOR, False, 1)
            if slant:
                self._figure.text(x, bottom + 14, text, anchor="end", rotate=-30)
            else:
                self._figure.text(x, bottom + 16, text, anchor="middle")

    def y_ticks(self, ticks: Sequence[tuple[float, str]], grid: bool = True) -> None:
        for value, text in ticks:
            y = self.py(value)
            if grid:
                self._line(self.left, y, self.left + self.width, y, GRID_COLOR, False, 1)
            self._line(self.left - 4, y, self.left, y, AXIS_COLOR, False, 1)
            self._figure.text(self.left - 7, y + 4, text, anchor="end")

    def frame(self, title: str = "", x_label: str = "", y_label: str = "") -> None:
        """The left and bottom axis lines, the title above the plot and the axis labels."""
        bottom = self.top + self.height
        self._line(self.left, self.top, self.left, bottom, AXIS_COLOR, False, 1)
        self._line(self.left, bottom, self.left + self.width, bottom, AXIS_COLOR, False, 1)
        if title:
            self._figure.text(self.left, self.top - 12, title, size=FONT + 2, weight="bold")
        if x_label:
            self._figure.text(self.left + self.width / 2, bottom + 40, x_label, anchor="middle")
        if y_label:
            self._figure.text(self.left - 52, self.top + self.height / 2, y_label, anchor="middle", rotate=-90)

    def legend(self, entries: Sequence[tuple[str, str, str]], title: str = "") -> None:
        """``(label, color, "box" or "dash")`` entries, listed to the right of the plot."""
        x, y = self.left + self.width + 16, self.top + 6
        if title:
            self._figure.text(x, y + 4, title, weight="bold")
            y += 18
        for text, color, kind in entries:
            if kind == "dash":
                self._line(x, y, x + 18, y, color, True, 2)
            else:
                self._add(f'<rect x="{_num(x)}" y="{_num(y - 6)}" width="18" height="12" fill="{color}"/>')
            self._figure.text(x + 24, y + 4, text)
            y += 18


class Figure:
    """An SVG canvas of ``width`` x ``height`` px holding one or more :class:`Axes`."""

    def __init__(self, width: float, height: float):
        self.width, self.height = width, height
        self.elements: list[str] = []

    def axes(self, left: float, top: float, width: float, height: float, x: tuple[float, float],
             y: tuple[float, float], log_y: bool = False) -> Axes:
        return Axes(self, left, top, width, height, x, y, log_y)

    def text(self, x: float, y: float, text: str, anchor: str = "start", size: float = FONT,
             color: str = LABEL_COLOR, weight: str = "normal", rotate: float = 0) -> None:
        turn = f' transform="rotate({_num(rotate)} {_num(x)} {_num(y)})"' if rotate else ""
        bold = ' font-weight="bold"' if weight != "normal" else ""
        self.elements.append(f'<text x="{_num(x)}" y="{_num(y)}" text-anchor="{anchor}" font-size="{_num(size)}" '
                             f'fill="{color}"{bold}{turn}>{_escape(text)}</text>')

    def message(self, text: str) -> None:
        """A rounded panel with one line of text, for a plot with nothing to show."""
        self.elements.append(f'<rect x="1" y="1" width="{_num(self.width - 2)}" height="{_num(self.height - 2)}" '
                             'rx="8" fill="#f4f5f7" stroke="#ccc"/>')
        self.text(self.width / 2, self.height / 2 + 5, text, anchor="middle", size=FONT + 2, color="#777")

    def svg(self, title: str) -> str:
        """The figure as an inline ``<svg>`` element (it scales to its container's width)."""
        return (f'<svg viewBox="0 0 {_num(self.width)} {_num(self.height)}" role="img" '
                f'font-family="Helvetica, Arial, sans-serif"><title>{_escape(title)}</title>'
                + "".join(self.elements) + "</svg>")
