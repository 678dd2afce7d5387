"""`/models/{id}`: per-benchmark and per-subject scores with intervals, a bar chart, metadata and job records."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from app.api.deps import SessionDep
from app.queries.jobs import job_records, jobs_with_models
from app.queries.models import get_model
from app.queries.results import latest_results, subject_results
from app.schemas.jobs import SubjectResultPublic
from app.schemas.models import ModelPublic
from app.web.charts import BarInput, bar_chart
from app.web.contamination_view import clean_score_rows
from app.web.render import Context, respond
from evaluators.catalog import BENCHMARKS

router = APIRouter(include_in_schema=False)


def _order(benchmark: str) -> int:
    return BENCHMARKS.index(benchmark) if benchmark in BENCHMARKS else len(BENCHMARKS)


def model_context(session: Session, model_id: int) -> Context:
    model = ModelPublic.model_validate(get_model(session, model_id))
    results = sorted(latest_results(session, [model_id], template=None), key=lambda r: _order(r.benchmark))
    subjects: dict[int, list[SubjectResultPublic]] = {}
    for score in subject_results(session, [r.job_id for r in results]):
        subjects.setdefault(score.job_id, []).append(score)
    jobs = jobs_with_models(session, model_id=model_id)
    records = job_records(session, [j.id for j in jobs])
    return {"title": model.name, "model": model, "results": results,
            "subjects": {r.benchmark: subjects.get(r.job_id, []) for r in results},
            "jobs": jobs, "records": {str(k): v for k, v in records.items()},
            "clean_rows": clean_score_rows(session, [(model.id, model.name)]), "clean_show_model": False}


def _charts(context: Context) -> Context:
    bars = [BarInput(label=r.benchmark, value=r.acc, low=r.ci_low, high=r.ci_high, href=f"/jobs/{r.job_id}",
                     partial=r.partial) for r in context["results"]]
    return {"chart": bar_chart(bars)}


@router.get("/models/{model_id}.json")
def model_json(model_id: int, request: Request, session: SessionDep) -> Response:
    return respond(request, "model.html", lambda: model_context(session, model_id), as_json=True)


@router.get("/models/{model_id}")
def model_page(model_id: int, request: Request, session: SessionDep) -> Response:
    return respond(request, "model.html", lambda: model_context(session, model_id), as_json=False,
                   decorate=_charts)
