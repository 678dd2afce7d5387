"""Verdict markers on the run chart: ▲ above a checkpoint that improved on its previous one, ▼ below one that
regressed (Holm-corrected exact McNemar, see `evaluators.verdicts`). Pure geometry from the drawn chart."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from app.web.charts import LineChart

SYMBOLS = {"improved": "▲", "regressed": "▼"}


@dataclass(frozen=True)
class VerdictMarker:
    benchmark: str
    kind: str  # "improved" or "regressed"
    symbol: str
    x: float
    y: float
    title: str


def verdict_markers(chart: LineChart, verdicts: Sequence[Mapping[str, Any]],
                    series_benchmark: Mapping[str, str] | None = None) -> list[VerdictMarker]:
    """A marker at every drawn point whose verdict against the previous checkpoint is a significant change.
    `series_benchmark` maps a drawn series' name to its benchmark where they differ (one series per question set)."""
    markers = []
    for drawn in chart.series:
        at = {point.href: point for point in drawn.points}
        benchmark = (series_benchmark or {}).get(drawn.name, drawn.name)
        for v in verdicts:
            if v["benchmark"] != benchmark or v["baseline"] != "previous" or v["verdict"] not in SYMBOLS:
                continue
            point = at.get(f"/jobs/{v['job_id']}")  # the point of the judged job
            if point is None:
                continue
            offset = -12.0 if v["verdict"] == "improved" else 20.0
            markers.append(VerdictMarker(
                benchmark=drawn.name, kind=v["verdict"], symbol=SYMBOLS[v["verdict"]], x=point.cx,
                y=round(point.cy + offset, 2),
                title=(f"{v['name']} {v['verdict']} on {drawn.name} vs step {v['baseline_step']}: "
                       f"{v['diff']:+.2f} points (95% CI {v['ci_low']:+.2f} to {v['ci_high']:+.2f}), "
                       f"Holm p = {v['p_adjusted']:.2g}")))
    return markers
