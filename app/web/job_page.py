"""`/jobs/{id}`: status and progress (the page polls the JSON API while the job runs), the error of a failed
job, the summary and the predictions, filtered by subject and by right/wrong, a page at a time. Each question is
shown inline (stem, options with the model's probability over the candidates, gold and prediction); the few-shot
block a subject's prompts share is shown once per subject (`app.web.question_view`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from app.api.deps import SessionDep
from app.db.models import FINAL_STATUSES
from app.errors import InvalidRequestError, NotFoundError
from app.queries.jobs import get_job, jobs_with_models
from app.queries.predictions import (
    list_predictions,
    prediction_by_question,
    prediction_subjects,
    subject_prompt_samples,
)
from app.queries.results import subject_results
from app.schemas.jobs import PredictionPublic
from app.web.question_view import candidate_probabilities, parse_options, question_text, shared_prefix
from app.web.render import Context, respond
from evaluators.catalog import BENCHMARKS, load_spec

router = APIRouter(include_in_schema=False)

RESULTS = ("right", "wrong")
PER_PAGE = 25
MAX_PER_PAGE = 500


def _positive_int(query: Mapping[str, str], name: str, default: int, maximum: int) -> int:
    text = query.get(name, "")
    if not text:
        return default
    if not text.isdigit() or not 1 <= int(text) <= maximum:
        raise InvalidRequestError(f"{name} must be an integer from 1 to {maximum}, got {text!r}")
    return int(text)


def _metric(benchmark: str, summary: dict[str, Any] | None) -> str:
    if summary and summary.get("metric"):
        return str(summary["metric"])
    return load_spec(benchmark).metric if benchmark in BENCHMARKS else "first_token"


def _prediction(row: PredictionPublic, combined: bool, prefix: str) -> dict[str, Any]:
    scores = sorted(row.scores.items())
    best = max(scores, key=lambda kv: kv[1])[0] if scores else None
    correct = row.correct_combined if combined else row.correct
    probabilities = candidate_probabilities(dict(scores))
    question = None
    if row.prompt is not None:
        question = parse_options(question_text(row.prompt, prefix), [k for k, _ in scores], gold=row.gold,
                                 pred=row.pred, probabilities=probabilities)
    return {"question_id": row.question_id, "subject": row.subject, "gold": row.gold, "pred": row.pred,
            "correct": bool(correct), "correct_first_token": row.correct, "correct_combined": row.correct_combined,
            "scores": [{"letter": k, "score": v, "probability": probabilities[k], "best": k == best}
                       for k, v in scores],
            "question": question, "shared_prefix": bool(prefix) and (row.prompt or "").startswith(prefix),
            "output": row.output, "letter": row.letter, "prompt": row.prompt, "prompt_sha256": row.prompt_sha256}


def job_context(session: Session, job_id: int, query: Mapping[str, str]) -> Context:
    infos = jobs_with_models(session, job_ids=[job_id])
    if not infos:
        raise NotFoundError(f"job {job_id} not found")
    job = infos[0]
    stored = get_job(session, job_id)
    summary, record = stored.summary, stored.record
    metric = _metric(job.benchmark, summary)
    subject = query.get("subject") or None
    result = query.get("result") or None
    if result is not None and result not in RESULTS:
        raise InvalidRequestError(f"result must be one of {', '.join(RESULTS)}, got {result!r}")
    page = _positive_int(query, "page", 1, 10**6)
    per_page = _positive_int(query, "per_page", PER_PAGE, MAX_PER_PAGE)
    question = query.get("question") or None
    if question is not None:  # one question (the compare page links each disagreement here)
        rows = prediction_by_question(session, job_id, question)
        count = len(rows)
    else:
        rows, count = list_predictions(session, job_id, combined=metric == "combined", subject=subject,
                                       correct=None if result is None else result == "right",
                                       offset=(page - 1) * per_page, limit=per_page)
    pages = max(1, -(-count // per_page))
    filters = {"subject": subject or "", "result": result or "", "per_page": "" if per_page == PER_PAGE else per_page,
               "question": question or ""}
    samples = subject_prompt_samples(session, job_id, {r.subject for r in rows})
    prefixes = {name: shared_prefix(prompts) for name, prompts in samples.items()}
    return {"title": f"Job {job.id}", "job": job, "metric": metric, "summary": summary, "record": record,
            "estimate": stored.estimate,
            "final": job.status in FINAL_STATUSES,
            "subject_results": subject_results(session, [job_id]),
            "subjects": prediction_subjects(session, job_id),
            "filters": filters, "page": page, "pages": pages, "per_page": per_page, "count": count,
            "predictions": [_prediction(r, metric == "combined", prefixes.get(r.subject, "")) for r in rows],
            "shared_prefixes": {name: text for name, text in sorted(prefixes.items()) if text},
            "api": {"job": f"/api/v1/jobs/{job.id}", "predictions": f"/api/v1/jobs/{job.id}/predictions"}}


@router.get("/jobs/{job_id}.json")
def job_json(job_id: int, request: Request, session: SessionDep) -> Response:
    return respond(request, "job.html", lambda: job_context(session, job_id, request.query_params), as_json=True)


@router.get("/jobs/{job_id}")
def job_page(job_id: int, request: Request, session: SessionDep) -> Response:
    return respond(request, "job.html", lambda: job_context(session, job_id, request.query_params), as_json=False)
