"""`/runs/{name}`: the checkpoints of one training run (models sharing `training_run`, ordered by step): score
against step or tokens seen per benchmark with 95% bands and the best checkpoint marked, and a per-subject heat
map over the checkpoints. Checkpoints scored on different question sets of a benchmark (other subjects, another
`limit`) are separate series: never joined by one line, nor ranked against each other. Chance level is drawn."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from app.api.deps import SessionDep
from app.errors import InvalidRequestError, NotFoundError
from app.queries.models import list_models
from app.queries.results import latest_results, subject_results
from app.services.run_report import build_run_report
from app.web.charts import PointInput, heat_color, line_chart
from app.web.contamination_view import clean_score_rows
from app.web.render import Context, respond
from app.web.verdict_markers import verdict_markers
from evaluators.catalog import BENCHMARKS, chance_level
from evaluators.templates import DEFAULT_TEMPLATE

router = APIRouter(include_in_schema=False)

X_AXES = {"step": "step", "tokens": "tokens seen"}


def _order(benchmark: str) -> int:
    return BENCHMARKS.index(benchmark) if benchmark in BENCHMARKS else len(BENCHMARKS)


def run_context(session: Session, name: str, x: str, heat: str | None = None) -> Context:
    """`heat` picks the benchmark of the per-subject heat map (default: the first one with results)."""
    if x not in X_AXES:
        raise InvalidRequestError(f"x must be one of {', '.join(X_AXES)}, got {x!r}")
    models = list_models(session, run=name)
    if not models:
        raise NotFoundError(f"training run {name!r} has no registered checkpoints")
    models.sort(key=lambda m: (m.step is None, m.step or 0, m.id))
    results = latest_results(session, [m.id for m in models])
    by_key = {(r.model_id, r.benchmark): r for r in results}
    benchmarks = sorted({r.benchmark for r in results}, key=_order)
    if heat is not None and heat not in benchmarks:
        raise InvalidRequestError(f"heat must be a benchmark of this run ({', '.join(benchmarks) or 'none'}), "
                                  f"got {heat!r}")
    heat_benchmark = heat or (benchmarks[0] if benchmarks else None)
    subject_rows = subject_results(session, [r.job_id for r in results if r.benchmark == heat_benchmark])
    job_bench = {r.job_id: (r.model_id, r.benchmark) for r in results}
    series: dict[str, list[dict[str, Any]]] = {}
    best: dict[str, int] = {}
    series_benchmark: dict[str, str] = {}
    for bench in benchmarks:
        points = [{"model_id": m.id, "model": m.name, "step": m.step, "tokens_seen": m.tokens_seen,
                   "job_id": r.job_id, "acc": r.acc, "ci_low": r.ci_low, "ci_high": r.ci_high, "n": r.n,
                   "expected_n": r.expected_n, "partial": r.partial, "newer_partial": r.newer_partial}
                  for m in models if (r := by_key.get((m.id, bench))) is not None]
        for label, members in question_sets(bench, points).items():
            series[label] = members
            series_benchmark[label] = bench
            best[label] = max(members, key=lambda p: p["acc"])["model_id"]
    heat_map: dict[str, dict[str, Any]] = {}
    for score in subject_rows:
        model_id, _bench = job_bench[score.job_id]
        entry = heat_map.setdefault(score.subject, {"display": score.display, "cells": {}})
        entry["cells"][str(model_id)] = {"acc": score.acc, "n": score.n, "ci_low": score.ci_low,
                                         "ci_high": score.ci_high, "job_id": score.job_id}
    report = build_run_report(session, name)
    return {"title": f"Run {name}", "run": name, "x": x, "x_label": X_AXES[x],
            "descriptions": list(dict.fromkeys(m.description for m in models if m.description)),
            "verdicts": [{"model_id": c.model_id, "name": c.name, "step": c.step, **v.model_dump()}
                         for c in report.checkpoints for v in c.verdicts],
            "signal_noise": [row.model_dump() for row in report.signal_noise],
            "signal_noise_meaning": report.signal_noise_meaning, "noise_checkpoints": report.noise_checkpoints,
            "checkpoints": [{"model_id": m.id, "name": m.name, "step": m.step, "tokens_seen": m.tokens_seen}
                            for m in models],
            "benchmarks": benchmarks, "series": series, "best": best, "heat_benchmark": heat_benchmark,
            "series_benchmark": series_benchmark, "chance": {label: chance_level(b) for label, b in series_benchmark.items()},
            "heat": dict(sorted(heat_map.items())),
            "clean_rows": clean_score_rows(session, [(m.id, m.name) for m in models], DEFAULT_TEMPLATE),
            "clean_show_model": True}


def question_sets(benchmark: str, points: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Split a benchmark's points by the question set they were scored on (questions scored, questions expected
    for the chosen subjects): one series per set, labelled with its size when there is more than one."""
    groups: dict[tuple[int, int | None], list[dict[str, Any]]] = {}
    for point in points:
        groups.setdefault((point["n"], point["expected_n"]), []).append(point)
    if len(groups) <= 1:
        return {benchmark: points} if points else {}
    ordered = sorted(groups.items(), key=lambda kv: (-kv[0][0], kv[0][1] or 0))
    return {f"{benchmark} · {n:,} of {expected if expected is not None else '?'}": members
            for (n, expected), members in ordered}


def _charts(context: Context) -> Context:
    key = "tokens_seen" if context["x"] == "tokens" else "step"
    series = {}
    skipped = 0
    for bench, points in context["series"].items():
        inputs = []
        for p in points:
            if p[key] is None:
                skipped += 1
                continue
            inputs.append(PointInput(x=float(p[key]), value=p["acc"], low=p["ci_low"], high=p["ci_high"],
                                     label=f"{p['model']} ({bench})", href=f"/jobs/{p['job_id']}"))
        series[bench] = inputs
    points_by_model = {bench: {p["model_id"]: p for p in points} for bench, points in context["series"].items()}
    chart = line_chart(series, x_label=context["x_label"])
    span = chart.bottom - chart.top
    chance_lines = [{"value": v, "y": round(chart.bottom - span * v / 100.0, 2)}
                    for v in sorted(set(context["chance"].values()))]
    return {"chart": chart, "skipped": skipped, "heat_color": heat_color, "points_by_model": points_by_model,
            "chance_lines": chance_lines,
            "markers": verdict_markers(chart, context["verdicts"], context["series_benchmark"])}


@router.get("/runs/{name:path}")
def run_page(name: str, request: Request, session: SessionDep, x: str = "step", heat: str | None = None) -> Response:
    if name.endswith(".json"):
        return respond(request, "run.html", lambda: run_context(session, name[: -len(".json")], x, heat),
                       as_json=True)
    return respond(request, "run.html", lambda: run_context(session, name, x, heat), as_json=False,
                   decorate=_charts)
