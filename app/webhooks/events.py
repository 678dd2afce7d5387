"""What happens, inside the transaction that finishes or fails a job: the checkpoint's verdicts are judged again
and the job's events (and `checkpoint.regressed` for every benchmark that regressed) go into the outbox. Called
by the lease functions, so an event is committed exactly when its cause is."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from app.db.models import Job, Model, Verdict
from app.queries.verdicts import judge_checkpoint, later_checkpoint_jobs, regressions
from app.queries.webhooks import enqueue_event
from app.webhooks.payloads import job_failed_text, job_finished_text, regressed_text

log = logging.getLogger(__name__)


def _names(session: Session, job: Job) -> tuple[Model, dict[str, object]]:
    model = session.get_one(Model, job.model_id)  # a foreign key: the model exists
    return model, {"job_id": job.id, "model_id": model.id, "model": model.name, "benchmark": job.benchmark,
                   "template": job.template, "training_run": model.training_run, "step": model.step}


def on_job_finished(session: Session, job_id: int) -> None:
    job = session.get(Job, job_id)
    if job is None:
        return
    model, data = _names(session, job)
    summary, estimate = job.summary or {}, job.estimate
    sample_only = bool((job.config or {}).get("sample_only"))
    enqueue_event(session, "job.finished", f"job.finished:{job.id}",
                  job_finished_text(job.id, model.name, job.benchmark, summary, estimate, sample_only),
                  {**data, "status": job.status, "sample_only": sample_only, "summary_micro": summary.get("micro"),
                   "complete": summary.get("complete"), "estimate": estimate})
    try:  # verdicts are reads plus statistics until their rows are written: a bug there must not fail the job
        rows = judge_checkpoint(session, job_id)
        later = [judge_checkpoint(session, later_job) for later_job in later_checkpoint_jobs(session, job_id)]
    except (ArithmeticError, KeyError, TypeError, ValueError):
        log.exception("job %s: checkpoint verdicts not computed", job_id, extra={"job_id": job_id})
        return
    for later_rows in later:
        _announce_regressions(session, later_rows, data)
    _announce_regressions(session, rows, data)


def _announce_regressions(session: Session, rows: list[Verdict], data: dict[str, object]) -> None:
    """A `checkpoint.regressed` event per regressed benchmark of a checkpoint (a repeat of one is a no-op)."""
    if not rows:
        return
    model = session.get_one(Model, rows[0].model_id)
    data = {**data, "model_id": model.id, "model": model.name, "step": model.step}
    steps = {m.id: m.step for m in session.query(Model).filter(Model.id.in_({r.baseline_model_id for r in rows}))}
    for benchmark, regressed in regressions(rows).items():  # the event id makes a repeat of one regression a no-op
        details = [{"baseline": r.baseline, "baseline_model_id": r.baseline_model_id,
                    "baseline_step": steps.get(r.baseline_model_id), "baseline_job_id": r.baseline_job_id,
                    "diff": r.diff, "ci_low": r.ci_low, "ci_high": r.ci_high, "p_value": r.p_value,
                    "p_adjusted": r.p_adjusted, "n": r.n, "sample": r.sample} for r in regressed]
        event_id = f"checkpoint.regressed:{model.id}:{benchmark}:{regressed[0].job_id}"
        enqueue_event(session, "checkpoint.regressed", event_id,
                      regressed_text(model.training_run or "", model.step, benchmark, details),
                      {**data, "benchmark": benchmark, "job_id": regressed[0].job_id, "verdicts": details})


def on_job_failed(session: Session, job_id: int) -> None:
    job = session.get(Job, job_id)
    if job is None:
        return
    session.refresh(job)
    model, data = _names(session, job)
    enqueue_event(session, "job.failed", f"job.failed:{job.id}:{job.attempts}",
                  job_failed_text(job.id, model.name, job.benchmark, job.error),
                  {**data, "status": job.status, "error": job.error, "attempts": job.attempts})
