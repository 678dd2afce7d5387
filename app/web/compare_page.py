"""`/compare?a=ID&b=ID`: two models on the same questions. Per benchmark: accuracy difference, exact McNemar
p-value and a seeded paired-bootstrap 95% interval; per subject: the differences with their intervals (a forest
plot); and the disagreements, each linked to its question on both job pages. By default each side uses its newest
succeeded job per benchmark; `job_a=ID` / `job_b=ID` (repeatable) pick other succeeded jobs of that model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from app.api.deps import SessionDep
from app.errors import InvalidRequestError
from app.queries.jobs import JobHeadline, succeeded_job_headlines
from app.queries.models import get_model
from app.queries.predictions import PairedRow, paired_predictions
from app.queries.results import latest_results
from app.schemas.models import ModelPublic
from app.web.interval_charts import ForestInput, forest_plot
from app.web.render import Context, respond
from evaluators.catalog import BENCHMARKS
from evaluators.paired_stats import bootstrap_diff_interval, mcnemar_exact, paired_counts

router = APIRouter(include_in_schema=False)

BOOTSTRAP_SEED = 0
BOOTSTRAP_RESAMPLES = 2000
SUBJECT_RESAMPLES = 1000  # per subject (the forest plot): fewer draws, every subject of every benchmark
DISAGREEMENTS_PER_PAGE = 100


def _model_id(query: Mapping[str, str], name: str) -> int:
    text = query.get(name, "")
    if not text.isdigit():
        raise InvalidRequestError(f"query parameter {name!r} must be a model id (an integer), got {text!r}")
    return int(text)


def _picked(query: Mapping[str, str], name: str) -> list[int]:
    """The job ids of a repeatable query parameter (`job_a=3&job_a=7`, or `job_a=3,7`)."""
    values = query.getlist(name) if hasattr(query, "getlist") else [query.get(name, "")]
    ids = []
    for text in (part.strip() for value in values for part in value.split(",")):
        if not text:
            continue
        if not text.isdigit():
            raise InvalidRequestError(f"query parameter {name!r} must be job ids (integers), got {text!r}")
        ids.append(int(text))
    return ids


def _choose(headlines: list[JobHeadline], newest: dict[str, Any], model_id: int, picks: list[int],
            name: str) -> dict[str, Any]:
    """Per benchmark, the picked job of the model (validated), else the newest one."""
    own = {h.job_id: h for h in headlines if h.model_id == model_id}
    chosen = dict(newest)
    for job_id in picks:
        if job_id not in own:
            raise InvalidRequestError(f"{name}={job_id} is not a succeeded job of model {model_id}")
        chosen[own[job_id].benchmark] = own[job_id]
    return chosen


def _stats(rows: list[PairedRow], *, resamples: int) -> dict[str, Any]:
    """Paired counts, accuracies, difference, McNemar p and the seeded paired-bootstrap interval."""
    counts = paired_counts([r.correct_a for r in rows], [r.correct_b for r in rows])
    low, high = bootstrap_diff_interval(counts, resamples=resamples, seed=BOOTSTRAP_SEED)
    return {"n": counts.n, "acc_a": 100.0 * (counts.both + counts.only_a) / counts.n,
            "acc_b": 100.0 * (counts.both + counts.only_b) / counts.n, "diff": counts.diff,
            "only_a": counts.only_a, "only_b": counts.only_b, "both": counts.both, "neither": counts.neither,
            "p_value": mcnemar_exact(counts.only_a, counts.only_b), "ci_low": low, "ci_high": high}


def compare_context(session: Session, query: Mapping[str, str]) -> Context:
    a_id, b_id = _model_id(query, "a"), _model_id(query, "b")
    page_text = query.get("page", "1")
    if not page_text.isdigit() or int(page_text) < 1:
        raise InvalidRequestError(f"page must be a positive integer, got {page_text!r}")
    page = int(page_text)
    model_a = ModelPublic.model_validate(get_model(session, a_id))
    model_b = ModelPublic.model_validate(get_model(session, b_id))
    results = latest_results(session, [a_id, b_id])
    headlines = succeeded_job_headlines(session, [a_id, b_id])
    jobs_a = _choose(headlines, {r.benchmark: r for r in results if r.model_id == a_id}, a_id,
                     _picked(query, "job_a"), "job_a")
    jobs_b = _choose(headlines, {r.benchmark: r for r in results if r.model_id == b_id}, b_id,
                     _picked(query, "job_b"), "job_b")
    shared = sorted(set(jobs_a) & set(jobs_b), key=lambda b: BENCHMARKS.index(b) if b in BENCHMARKS else 99)
    pairs = {b: (jobs_a[b].job_id, jobs_b[b].job_id) for b in shared}
    combined = {b for b in shared if jobs_a[b].metric == "combined"}
    rows = paired_predictions(session, pairs, combined)
    by_bench: dict[str, list[PairedRow]] = {}
    by_subject: dict[tuple[str, str], list[PairedRow]] = {}
    for row in rows:
        by_bench.setdefault(row.benchmark, []).append(row)
        by_subject.setdefault((row.benchmark, row.subject), []).append(row)
    benchmarks = []
    for bench in shared:
        entry = {"benchmark": bench, "job_a": pairs[bench][0], "job_b": pairs[bench][1], "metric": jobs_a[bench].metric,
                 "n_a": jobs_a[bench].n, "n_b": jobs_b[bench].n,
                 "newer_partial_a": getattr(jobs_a[bench], "newer_partial", None),
                 "newer_partial_b": getattr(jobs_b[bench], "newer_partial", None)}
        entry.update(_stats(by_bench[bench], resamples=BOOTSTRAP_RESAMPLES) if by_bench.get(bench) else {"n": 0})
        benchmarks.append(entry)
    subjects = [{"benchmark": bench, "subject": subject, **_stats(items, resamples=SUBJECT_RESAMPLES)}
                for (bench, subject), items in sorted(by_subject.items())]
    disagreements = [r for r in rows if r.correct_a != r.correct_b]
    start = (page - 1) * DISAGREEMENTS_PER_PAGE
    return {"title": f"{model_a.name} vs {model_b.name}", "a": model_a, "b": model_b, "benchmarks": benchmarks,
            "only_a": sorted(set(jobs_a) - set(jobs_b)), "only_b": sorted(set(jobs_b) - set(jobs_a)),
            "subjects": subjects, "disagreement_count": len(disagreements), "page": page,
            "pages": max(1, -(-len(disagreements) // DISAGREEMENTS_PER_PAGE)),
            "disagreements": disagreements[start:start + DISAGREEMENTS_PER_PAGE], "jobs": pairs,
            "choices": {"a": _choices(headlines, a_id), "b": _choices(headlines, b_id)},
            "picked": {"job_a": ",".join(str(p[0]) for p in pairs.values()),
                       "job_b": ",".join(str(p[1]) for p in pairs.values())},
            "bootstrap": {"seed": BOOTSTRAP_SEED, "resamples": BOOTSTRAP_RESAMPLES, "level": 0.95,
                          "subject_resamples": SUBJECT_RESAMPLES}}


def _choices(headlines: list[JobHeadline], model_id: int) -> dict[str, list[JobHeadline]]:
    """The model's succeeded jobs per benchmark, newest first (the job pickers)."""
    out: dict[str, list[JobHeadline]] = {}
    for h in sorted(headlines, key=lambda h: (BENCHMARKS.index(h.benchmark) if h.benchmark in BENCHMARKS else 99,
                                              -h.job_id)):
        if h.model_id == model_id:
            out.setdefault(h.benchmark, []).append(h)
    return out


def _forest(context: Context) -> Context:
    items = [ForestInput(label=f"{s['benchmark']} · {s['subject']}", diff=s["diff"], low=s["ci_low"],
                         high=s["ci_high"], href=f"/jobs/{context['jobs'][s['benchmark']][0]}?{urlencode({'subject': s['subject']})}")
             for s in context["subjects"]]
    return {"forest": forest_plot(items)}


@router.get("/compare.json")
def compare_json(request: Request, session: SessionDep) -> Response:
    return respond(request, "compare.html", lambda: compare_context(session, request.query_params), as_json=True)


@router.get("/compare")
def compare_page(request: Request, session: SessionDep) -> Response:
    return respond(request, "compare.html", lambda: compare_context(session, request.query_params), as_json=False,
                   decorate=_forest)
