"""Interval charts for inline SVG (pure geometry; the templates draw the shapes).

`grouped_intervals`: one group per benchmark, one dot with its 95% interval per model, the benchmark's chance
level as a dashed line across its group (the leaderboard's chart). `forest_plot`: one row per subject, a
difference with its interval against a zero line (the compare page).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

from app.web.charts import PALETTE, Tick, percent_ticks, percent_y

LEFT, TOP = 40, 10


@dataclass(frozen=True)
class IntervalInput:
    series: str  # the model
    group: str  # the benchmark
    value: float
    low: float
    high: float
    href: str
    partial: bool = False


@dataclass(frozen=True, kw_only=True)
class IntervalMark(IntervalInput):
    """An `IntervalInput` with its colour and geometry."""

    color: str
    cx: float
    cy: float
    y_low: float
    y_high: float


@dataclass(frozen=True)
class Group:
    name: str
    x: float  # left edge
    width: float
    chance: float | None
    chance_y: float | None


@dataclass(frozen=True)
class LegendEntry:
    name: str
    color: str


@dataclass(frozen=True)
class GroupedIntervalChart:
    width: int
    height: int
    left: int
    bottom: float
    groups: list[Group]
    marks: list[IntervalMark]
    y_ticks: list[Tick]
    legend: list[LegendEntry]


def _y(value: float, height: float) -> float:
    return percent_y(value, TOP, height)


def grouped_intervals(items: Sequence[IntervalInput], groups: Sequence[str], series: Sequence[str],
                      chance: dict[str, float], *, slot: int = 14, gap: int = 28,
                      plot_height: int = 180) -> GroupedIntervalChart:
    """Dots with 95% whiskers on a 0–100 axis: groups left to right, series in a fixed order (and colour)."""
    colors = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(series)}
    order = {name: i for i, name in enumerate(series)}
    group_width = max(1, len(series)) * slot
    drawn_groups, x = [], LEFT + gap
    positions: dict[str, float] = {}
    for name in groups:
        level = chance.get(name)
        drawn_groups.append(Group(name=name, x=x, width=group_width, chance=level,
                                  chance_y=_y(level, plot_height) if level is not None else None))
        positions[name] = x
        x += group_width + gap
    marks = [IntervalMark(**asdict(i), color=colors[i.series],
                          cx=round(positions[i.group] + (order[i.series] + 0.5) * slot, 2),
                          cy=_y(i.value, plot_height), y_low=_y(i.low, plot_height), y_high=_y(i.high, plot_height))
             for i in items if i.group in positions and i.series in order]
    return GroupedIntervalChart(width=max(int(x), 240), height=TOP + plot_height + 30, left=LEFT,
                                bottom=TOP + plot_height, groups=drawn_groups, marks=marks,
                                y_ticks=percent_ticks(TOP, plot_height),
                                legend=[LegendEntry(name=s, color=colors[s]) for s in series])


@dataclass(frozen=True)
class ForestInput:
    label: str
    diff: float  # percentage points
    low: float
    high: float
    href: str


@dataclass(frozen=True)
class ForestRow:
    label: str
    diff: float
    low: float
    high: float
    href: str
    y: float
    cx: float
    x_low: float
    x_high: float
    excludes_zero: bool


@dataclass(frozen=True)
class ForestPlot:
    width: int
    height: int
    left: int
    right: int
    zero_x: float
    rows: list[ForestRow]
    x_ticks: list[Tick]
    bottom: float


def forest_plot(items: Sequence[ForestInput], *, width: int = 760, row_height: int = 18,
                label_width: int = 260) -> ForestPlot:
    """Differences (A − B, points) with their intervals, one row each, on a symmetric axis around zero."""
    left, right = label_width, width - 20
    extent = max([10.0] + [max(abs(i.low), abs(i.high)) for i in items])
    extent = float(-(-extent // 10) * 10)  # round up to a multiple of 10

    def sx(value: float) -> float:
        return round(left + (right - left) * (value + extent) / (2 * extent), 2)

    rows = [ForestRow(label=i.label, diff=i.diff, low=i.low, high=i.high, href=i.href,
                      y=TOP + (k + 0.5) * row_height, cx=sx(i.diff), x_low=sx(i.low), x_high=sx(i.high),
                      excludes_zero=i.low > 0 or i.high < 0) for k, i in enumerate(items)]
    bottom = TOP + len(items) * row_height
    ticks = [Tick(value=v, pos=sx(v), label=f"{v:+.0f}" if v else "0")
             for v in (-extent, -extent / 2, 0.0, extent / 2, extent)]
    return ForestPlot(width=width, height=int(bottom) + 36, left=left, right=right, zero_x=sx(0.0), rows=rows,
                      x_ticks=ticks, bottom=bottom)
