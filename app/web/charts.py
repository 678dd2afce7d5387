"""Chart geometry for inline SVG: pure functions from numbers to coordinates; the templates draw the shapes.

Accuracies are percentages on a fixed 0–100 axis, so charts of different models or runs compare at a glance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")


@dataclass(frozen=True)
class Tick:
    value: float
    pos: float
    label: str


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    left: int
    bottom: float
    bars: list[Bar]
    y_ticks: list[Tick]


@dataclass(frozen=True)
class BarInput:
    label: str
    value: float
    low: float
    high: float
    href: str
    partial: bool = False


@dataclass(frozen=True, kw_only=True)
class Bar(BarInput):
    """A `BarInput` with its geometry."""

    x: float
    y: float
    width: float
    height: float
    whisker_top: float
    whisker_bottom: float


def percent_y(value: float, top: float, height: float) -> float:
    """The y coordinate of an accuracy (clamped to 0–100) on a plot `height` high starting at `top`."""
    return round(top + height * (1.0 - max(0.0, min(100.0, value)) / 100.0), 2)


def percent_ticks(top: float, height: float) -> list[Tick]:
    """The 0, 25, 50, 75 and 100 ticks of that axis."""
    return [Tick(value=v, pos=percent_y(v, top, height), label=f"{v:.0f}") for v in (0, 25, 50, 75, 100)]


def bar_chart(items: Sequence[BarInput], *, bar_width: int = 56, gap: int = 24, plot_height: int = 200) -> BarChart:
    """Vertical bars on a 0–100 axis with 95% interval whiskers."""
    left, top = 40, 10
    bars = []
    for i, item in enumerate(items):
        x = left + gap + i * (bar_width + gap)
        y = percent_y(item.value, top, plot_height)
        bars.append(Bar(**asdict(item), x=x, y=y, width=bar_width, height=round(top + plot_height - y, 2),
                        whisker_top=percent_y(item.high, top, plot_height),
                        whisker_bottom=percent_y(item.low, top, plot_height)))
    width = left + gap + len(items) * (bar_width + gap) + 10
    return BarChart(width=max(width, 200), height=top + plot_height + 40, left=left, bottom=top + plot_height,
                    bars=bars, y_ticks=percent_ticks(top, plot_height))


@dataclass(frozen=True)
class PointInput:
    x: float
    value: float
    low: float
    high: float
    label: str  # e.g. the checkpoint name
    href: str


@dataclass(frozen=True)
class Point:
    cx: float
    cy: float
    value: float
    low: float
    high: float
    label: str
    href: str
    best: bool


@dataclass(frozen=True)
class Series:
    name: str
    color: str
    line: str  # SVG path data
    band: str  # closed path of the interval band
    points: list[Point] = field(default_factory=list)


@dataclass(frozen=True)
class LineChart:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    x_label: str
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    series: list[Series]


def _short(value: float) -> str:
    for unit, size in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= size:
            return f"{value / size:.3g}{unit}"
    return f"{value:.4g}"


def line_chart(series: dict[str, Sequence[PointInput]], *, x_label: str, width: int = 760,
               plot_height: int = 260) -> LineChart:
    """One line per series over a shared x axis, with a 95% band and the best point of each series marked."""
    left, right, top = 48, width - 16, 12
    bottom = top + plot_height
    xs = [p.x for points in series.values() for p in points]
    x_min, x_max = (min(xs), max(xs)) if xs else (0.0, 1.0)
    span = (x_max - x_min) or 1.0

    def sx(x: float) -> float:
        if x_max == x_min:
            return round((left + right) / 2, 2)
        return round(left + (right - left) * (x - x_min) / span, 2)

    drawn = []
    for i, (name, raw) in enumerate(series.items()):
        points_in = sorted(raw, key=lambda p: p.x)
        best = max(points_in, key=lambda p: p.value) if points_in else None
        points = [Point(cx=sx(p.x), cy=percent_y(p.value, top, plot_height), value=p.value, low=p.low, high=p.high,
                        label=p.label, href=p.href, best=p is best) for p in points_in]
        line = " ".join(f"{'M' if j == 0 else 'L'}{p.cx},{p.cy}" for j, p in enumerate(points))
        upper = [f"{sx(p.x)},{percent_y(p.high, top, plot_height)}" for p in points_in]
        lower = [f"{sx(p.x)},{percent_y(p.low, top, plot_height)}" for p in reversed(points_in)]
        band = ("M" + " L".join(upper + lower) + " Z") if points_in else ""
        drawn.append(Series(name=name, color=PALETTE[i % len(PALETTE)], line=line, band=band, points=points))
    distinct = sorted(set(xs))
    if len(distinct) > 6:
        distinct = [x_min + span * k / 5 for k in range(6)]
    x_ticks = [Tick(value=x, pos=sx(x), label=_short(x)) for x in distinct]
    return LineChart(width=width, height=bottom + 44, left=left, right=right, top=top, bottom=bottom,
                     x_label=x_label, x_ticks=x_ticks, y_ticks=percent_ticks(top, plot_height), series=drawn)


def heat_color(value: float | None) -> str:
    """A background colour for an accuracy: red (0) through yellow to green (100); grey when missing."""
    if value is None:
        return "#eeeeee"
    hue = 120.0 * max(0.0, min(100.0, value)) / 100.0
    return f"hsl({hue:.0f}, 70%, 78%)"
