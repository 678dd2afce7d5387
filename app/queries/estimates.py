"""The early estimate of a running job: stored by its worker once the sample is scored, read by the pages."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session

from app.db.models import Job
from app.queries.predictions import load_predictions
from app.schemas.runs import RunEstimatePublic
from evaluators.catalog import BENCHMARKS, load_spec
from evaluators.estimates import strata_from_predictions, stratified_estimate

if TYPE_CHECKING:
    from evaluators.runner import SampleInfo


def compute_estimate(session: Session, job_id: int, benchmark: str, sample: SampleInfo) -> dict[str, Any]:
    """The estimate from the job's stored sample predictions (all attempts), as stored in `jobs.estimate`."""
    metric = load_spec(benchmark).metric if benchmark in BENCHMARKS else "first_token"
    strata = strata_from_predictions(load_predictions(session, job_id), sample.ids, sample.populations, metric)
    return {**asdict(stratified_estimate(strata)), "metric": metric}


def store_estimate(session: Session, job_id: int, owner: str, estimate: dict[str, Any]) -> bool:
    """Write the estimate while the lease is `owner`'s; False when it is not (nothing written)."""
    result = session.execute(update(Job).where(and_(Job.id == job_id, Job.lease_owner == owner,
                                                    Job.status == "running")).values(estimate=estimate))
    return result.rowcount == 1


def running_estimates(session: Session, model_ids: Collection[int],
                      template: str) -> dict[int, dict[str, RunEstimatePublic]]:
    """Model id → benchmark → the newest running job with `template` that has published its estimate."""
    if not model_ids:
        return {}
    query = (select(Job.id, Job.model_id, Job.benchmark, Job.progress_done, Job.progress_total, Job.estimate)
             .where(Job.status == "running", Job.estimate.is_not(None), Job.template == template,
                    Job.model_id.in_(list(model_ids))).order_by(Job.id))
    found: dict[int, dict[str, RunEstimatePublic]] = {}
    for job_id, model_id, benchmark, done, total, estimate in session.execute(query):
        found.setdefault(model_id, {})[benchmark] = RunEstimatePublic(
            job_id=job_id, benchmark=benchmark, progress_done=done, progress_total=total, estimate=estimate)
    return found
