"""/models/{id}/results: a model's newest succeeded result per benchmark, as JSON or in lm-evaluation-harness's
results layout (`?format=lm-eval`). Per-job exports live on the job routes (`/jobs/{id}/results?format=lm-eval`,
`/jobs/{id}/predictions?format=csv|jsonl|parquet`)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter

from app.api.deps import SessionDep
from app.db.models import Job
from app.exports.lm_eval import ScoredJob, lm_eval_results
from app.queries import jobs as job_queries
from app.queries.models import get_model
from evaluators.catalog import TEMPLATE_IDS
from evaluators.templates import DEFAULT_TEMPLATE

router = APIRouter(prefix="/models", tags=["models"])

TemplateId = Literal[TEMPLATE_IDS]  # type: ignore[valid-type]


def scored_job(job: Job) -> ScoredJob:
    return ScoredJob(job_id=job.id, benchmark=job.benchmark, template=job.template, summary=job.summary or {},
                     record=job.record, finished_at=job.finished_at)


@router.get("/{model_id}/results")
def read_model_results(model_id: int, session: SessionDep, template: TemplateId = DEFAULT_TEMPLATE,
                       format: Literal["json", "lm-eval"] = "json") -> dict[str, Any]:
    """Newest succeeded job per benchmark with `template`: summaries and records (`json`), or one lm-eval
    results document (`lm-eval`)."""
    model = get_model(session, model_id)
    jobs = job_queries.newest_succeeded_jobs(session, model_id, template)
    if format == "lm-eval":
        return lm_eval_results(model.name, model.path, [scored_job(j) for j in jobs])
    return {"model_id": model.id, "template": template,
            "data": [{"job_id": j.id, "benchmark": j.benchmark, "summary": j.summary, "record": j.record} for j in jobs]}
