"""Checkpoint verdicts: when a job of a training-run checkpoint finishes, judge the checkpoint against the run's
previous checkpoint and its best one so far, on the questions both have, and store the verdicts.

Baselines per benchmark (same template): `previous` is the nearest earlier step with a succeeded job, `best` the
earlier checkpoint with the highest headline accuracy (ties: the later step). All of the checkpoint's benchmarks
are judged again together, so the Holm correction always covers the checkpoint's whole family
(`evaluators.verdicts`), and later checkpoints are judged again too (their baselines may have changed). Statistics are pure; this module only reads predictions and writes rows.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, aliased

from app.db.models import Job, Model, PredictionRow, Verdict
from evaluators.catalog import BENCHMARKS, load_spec
from evaluators.verdicts import REGRESSED, judge

BASELINES = ("previous", "best")


@dataclass(frozen=True)
class Finished:
    """The newest succeeded job of one checkpoint and benchmark."""

    job_id: int
    model_id: int
    step: int
    benchmark: str
    acc: float
    sample: bool


def _combined(benchmark: str) -> bool:
    return benchmark in BENCHMARKS and load_spec(benchmark).metric == "combined"


def _finished_jobs(session: Session, run: str, template: str, max_step: int) -> list[Finished]:
    """Per (checkpoint, benchmark) of `run` up to `max_step`, the newest succeeded job with `template`."""
    query = (select(Job.id, Job.model_id, Model.step, Job.benchmark, Job.summary, Job.config)
             .join(Model, Model.id == Job.model_id)
             .where(Model.training_run == run, Model.step.is_not(None), Model.step <= max_step,
                    Job.status == "succeeded", Job.template == template, Job.summary.is_not(None))
             .order_by(Job.id))
    newest: dict[tuple[int, str], Finished] = {}
    for job_id, model_id, step, benchmark, summary, config in session.execute(query):
        newest[(model_id, benchmark)] = Finished(job_id=job_id, model_id=model_id, step=step, benchmark=benchmark,
                                                 acc=float(summary["micro"]["acc"]),
                                                 sample=bool((config or {}).get("sample_only")))
    return list(newest.values())


def paired_outcomes(session: Session, new_job: int, old_job: int, combined: bool) -> tuple[list[bool], list[bool]]:
    """Correctness of two jobs on their shared questions, in question-id order."""
    a, b = aliased(PredictionRow), aliased(PredictionRow)
    query = (select(a.correct, a.correct_combined, b.correct, b.correct_combined)
             .join(b, b.question_id == a.question_id).where(a.job_id == new_job, b.job_id == old_job)
             .order_by(a.question_id))
    new, old = [], []
    for ok_a, comb_a, ok_b, comb_b in session.execute(query):
        new.append(bool(comb_a if combined else ok_a))
        old.append(bool(comb_b if combined else ok_b))
    return new, old


def judge_checkpoint(session: Session, job_id: int) -> list[Verdict]:
    """Recompute and store the verdicts of the checkpoint `job_id` belongs to; returns the stored rows (empty when
    the model is not a training-run checkpoint or has no earlier one)."""
    job = session.get(Job, job_id)
    model = session.get(Model, job.model_id) if job else None
    if job is None or model is None or model.training_run is None or model.step is None:
        return []
    finished = _finished_jobs(session, model.training_run, job.template, model.step)
    mine = {f.benchmark: f for f in finished if f.model_id == model.id}
    earlier = [f for f in finished if f.step < model.step]
    rows: list[Verdict] = []
    for baseline in BASELINES:
        chosen: dict[str, Finished] = {}
        for benchmark in mine:
            candidates = [f for f in earlier if f.benchmark == benchmark]
            if candidates:
                key = (lambda f: (f.step, f.job_id)) if baseline == "previous" else (lambda f: (f.acc, f.step))
                chosen[benchmark] = max(candidates, key=key)
        outcomes = {bench: paired_outcomes(session, mine[bench].job_id, base.job_id, _combined(bench))
                    for bench, base in chosen.items()}
        for verdict in judge(outcomes):
            base, new = chosen[verdict.key], mine[verdict.key]
            rows.append(Verdict(model_id=model.id, job_id=new.job_id, benchmark=verdict.key, template=job.template,
                                baseline=baseline, baseline_model_id=base.model_id, baseline_job_id=base.job_id,
                                n=verdict.counts.n, only_new=verdict.counts.only_a,
                                only_baseline=verdict.counts.only_b, diff=verdict.diff, ci_low=verdict.ci_low,
                                ci_high=verdict.ci_high, p_value=verdict.p_value, p_adjusted=verdict.p_adjusted,
                                verdict=verdict.verdict, sample=new.sample or base.sample))
    session.execute(delete(Verdict).where(Verdict.model_id == model.id, Verdict.template == job.template))
    session.add_all(rows)
    session.flush()
    return rows


def later_checkpoint_jobs(session: Session, job_id: int) -> list[int]:
    """One succeeded job (same template) of every later checkpoint of the job's run: their `previous` or `best`
    baseline may have changed now that this checkpoint has a result (jobs finish out of step order)."""
    job = session.get(Job, job_id)
    model = session.get(Model, job.model_id) if job else None
    if job is None or model is None or model.training_run is None or model.step is None:
        return []
    query = (select(Job.model_id, func.max(Job.id)).join(Model, Model.id == Job.model_id)
             .where(Model.training_run == model.training_run, Model.step > model.step, Job.status == "succeeded",
                    Job.template == job.template).group_by(Job.model_id).order_by(Job.model_id))
    return [newest for _model_id, newest in session.execute(query)]


def regressions(rows: Collection[Verdict]) -> dict[str, list[Verdict]]:
    """The regressed verdicts by benchmark."""
    found: dict[str, list[Verdict]] = {}
    for row in rows:
        if row.verdict == REGRESSED:
            found.setdefault(row.benchmark, []).append(row)
    return found


def run_verdicts(session: Session, model_ids: Collection[int], template: str) -> list[Verdict]:
    if not model_ids:
        return []
    return list(session.scalars(select(Verdict).where(Verdict.model_id.in_(list(model_ids)),
                                                      Verdict.template == template)
                                .order_by(Verdict.model_id, Verdict.benchmark, Verdict.baseline)))
