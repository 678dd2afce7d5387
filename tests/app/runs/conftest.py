"""Constructed training runs: checkpoints whose jobs finish through the real `finish_job` (so verdicts and webhook
events are written exactly as a worker writes them) with predictions chosen question by question."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection

import pytest
from sqlalchemy.orm import Session, sessionmaker

from app.db.models import Job, Model
from app.queries.predictions import insert_predictions
from app.worker.lease import finish_job
from evaluators.aggregate import summarize
from evaluators.records import Prediction

OWNER = "test-worker"


def predictions_for(benchmark: str, right: Collection[int], n: int, subject: str = "abstract_algebra") -> list[Prediction]:
    """`n` questions `subject/0..n-1`, gold A; answered A (right) exactly for the indices in `right`."""
    out = []
    for i in range(n):
        pred = "A" if i in right else "B"
        combined = (pred == "A") if benchmark in ("agieval", "gaokao") else None
        out.append(Prediction(question_id=f"{subject}/{i}", subject=subject, gold="A", pred=pred,
                              scores={"A": -0.5 if pred == "A" else -2.0, "B": -0.5 if pred == "B" else -2.0,
                                      "C": -3.0, "D": -3.0},
                              correct=pred == "A", prompt_sha256=hashlib.sha256(f"{subject}{i}".encode()).hexdigest(),
                              correct_combined=combined))
    return out


def add_checkpoint(session: Session, run: str, step: int, name: str | None = None) -> int:
    model = Model(name=name or f"{run}@step-{step}", path=f"/models/{run}/{step}", source="local", tags=[],
                  training_run=run, step=step, tokens_seen=step * 1000)
    session.add(model)
    session.flush()
    return model.id


def finish_constructed_job(session_factory: sessionmaker[Session], model_id: int, benchmark: str,
                           right: Collection[int], n: int, *, sample_only: bool = False,
                           template: str = "colossaleval") -> int:
    """A job that ran and finishes now through `finish_job`; complete (N equals the expected count) by design."""
    predictions = predictions_for(benchmark, right, n)
    with session_factory() as session:
        job = Job(model_id=model_id, benchmark=benchmark, template=template, config={"sample_only": sample_only},
                  status="running", lease_owner=OWNER, attempts=1)
        session.add(job)
        session.flush()
        insert_predictions(session, job.id, predictions)
        session.commit()
        job_id = job.id
    metric = "combined" if benchmark in ("agieval", "gaokao") else "first_token"
    summary = summarize(benchmark, predictions, metric=metric, expected_n=n)
    assert finish_job(session_factory, job_id, OWNER, summary, {"template": template}, (n, n))
    return job_id


@pytest.fixture
def finish() -> Callable[..., int]:
    return finish_constructed_job


@pytest.fixture
def checkpoint(session_factory) -> Callable[..., int]:
    def make(run: str, step: int, name: str | None = None) -> int:
        with session_factory() as session:
            model_id = add_checkpoint(session, run, step, name)
            session.commit()
            return model_id

    return make
