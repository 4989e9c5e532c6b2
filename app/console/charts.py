"""Charts drawn on the server as inline SVG: trend lines, horizontal bars and a funnel.

No chart library and no script: the page carries its charts as markup, so they render offline,
print, and stay under the console's ``default-src 'self'`` policy. Hovering a point or bar shows
its value through SVG ``<title>``.
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

PALETTE = ("#1f5fa8", "#e07b00", "#137333", "#8e3ab0", "#b42318", "#00838f")
_FONT = 'font-size="12" fill="#5b6675"'


@dataclass(frozen=True)
class Series:
    """One line of a trend chart: a name and one value per label."""

    name: str
    values: Sequence[float]


def number(value: float) -> str:
    """A figure with thousands separators; fractions to one decimal."""
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 × 10^k at or above ``value`` (1 for nothing), for axis tops."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    return float(next(step * power for step in (1, 2, 5, 10) if step * power >= value))


def _svg(name: str, title: str, width: int, height: int, body: str) -> Markup:
    head = (
        f'<svg class="chart" data-chart="{escape(name)}" role="img" viewBox="0 0 {width} '
        f'{height}" width="100%" preserveAspectRatio="xMidYMid meet" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    )
    return Markup(head + body + "</svg>")


def _empty(name: str, title: str, message: str, width: int) -> Markup:
    text = f'<text x="{width / 2}" y="40" text-anchor="middle" {_FONT}>{escape(message)}</text>'
    return _svg(name, title, width, 80, text)


def _y_axis(top: float, left: int, right: int, base: int, height: int) -> list[str]:
    parts = []
    for tick in range(5):
        value = top * tick / 4
        y = base - height * tick / 4
        parts.append(
            f'<line x1="{left}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e7ee"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" {_FONT}>{number(value)}</text>'
        )
    return parts


def _legend(names: Sequence[str], left: int) -> list[str]:
    parts, x = [], left
    for index, name in enumerate(names):
        colour = PALETTE[index % len(PALETTE)]
        parts.append(
            f'<rect x="{x}" y="6" width="12" height="12" fill="{colour}"/>'
            f'<text x="{x + 16}" y="16" {_FONT}>{escape(name)}</text>'
        )
        x += 28 + 13 * len(name)
    return parts


def _x_labels(labels: Sequence[str], left: int, step: float, base: int) -> list[str]:
    every = max(1, math.ceil(len(labels) / 12))  # at most 12 labels along the axis
    return [
        f'<text x="{left + step * i:.1f}" y="{base + 18}" text-anchor="middle" {_FONT}>'
        f"{escape(label)}</text>"
        for i, label in enumerate(labels)
        if i % every == 0
    ]


Place = Callable[[int, float], tuple[float, float]]


def _line(line: Series, colour: str, labels: Sequence[str], place: Place) -> str:
    points = [place(i, v) for i, v in enumerate(line.values)]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    parts = [f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>']
    for (x, y), label, value in zip(points, labels, line.values, strict=True):
        tip = f"{line.name} {label}: {number(value)}"
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}">'
            f"<title>{escape(tip)}</title></circle>"
        )
    return "".join(parts)


def line_chart(
    name: str, title: str, labels: Sequence[str], series: Sequence[Series], *, empty: str
) -> Markup:
    """A trend chart: one line per series over ``labels`` (months), with a legend."""
    width, height, left, right, top_y, base = 720, 280, 64, 700, 36, 240
    if not labels:
        return _empty(name, title, empty, width)
    top = nice_ceiling(max((v for s in series for v in s.values), default=0))
    step = (right - left) / max(len(labels) - 1, 1)

    def place(index: int, value: float) -> tuple[float, float]:
        return left + step * index, base - (base - top_y) * value / top

    parts = [
        *_legend([s.name for s in series], left),
        *_y_axis(top, left, right, base, base - top_y),
        *_x_labels(labels, left, step, base),
    ]
    for index, line in enumerate(series):
        parts.append(_line(line, PALETTE[index % len(PALETTE)], labels, place))
    return _svg(name, title, width, height, "".join(parts))


def bar_chart(
    name: str, title: str, items: Sequence[tuple[str, float]], *, empty: str, colour: int = 0
) -> Markup:
    """Horizontal bars, one per (label, value), longest first as given."""
    width, left, right, row = 720, 150, 640, 26
    if not items:
        return _empty(name, title, empty, width)
    top = max(value for _label, value in items) or 1
    parts = []
    for index, (label, value) in enumerate(items):
        y = 8 + index * row
        length = (right - left) * value / top
        parts.append(
            f'<text x="{left - 8}" y="{y + 14}" text-anchor="end" {_FONT}>{escape(label)}</text>'
            f'<rect x="{left}" y="{y}" width="{length:.1f}" height="{row - 8}" '
            f'fill="{PALETTE[colour % len(PALETTE)]}"><title>{escape(label)}: {number(value)}'
            f'</title></rect><text x="{left + length + 6:.1f}" y="{y + 14}" {_FONT}>'
            f"{number(value)}</text>"
        )
    return _svg(name, title, width, 16 + len(items) * row, "".join(parts))


def funnel(name: str, title: str, steps: Sequence[tuple[str, float]], *, empty: str) -> Markup:
    """A funnel: centred bars narrowing from the first step, each with its share of the first."""
    width, row, full = 720, 44, 560
    first = steps[0][1] if steps else 0
    if not first:
        return _empty(name, title, empty, width)
    parts = []
    for index, (label, value) in enumerate(steps):
        length = max(full * value / first, 2)
        x, y = (width - length) / 2, 6 + index * row
        share = f"{100 * value / first:.0f}%"
        parts.append(
            f'<rect x="{x:.1f}" y="{y}" width="{length:.1f}" height="{row - 10}" rx="4" '
            f'fill="{PALETTE[index % len(PALETTE)]}" opacity="0.85"><title>{escape(label)}: '
            f'{number(value)}</title></rect><text x="{width / 2}" y="{y + 22}" '
            f'text-anchor="middle" font-size="13" fill="#1d2430">{escape(label)} · '
            f"{number(value)} · {share}</text>"
        )
    return _svg(name, title, width, 10 + len(steps) * row, "".join(parts))
