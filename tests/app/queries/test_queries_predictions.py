"""Prediction inserts ignore duplicates on (job, question), so retries can re-send a chunk."""

from __future__ import annotations

from app.db.models import Job, Model
from app.queries.predictions import (
    count_predictions,
    insert_predictions,
    load_predictions,
    stored_question_ids,
)
from evaluators.records import Prediction


def make_job(session) -> int:
    model = Model(name="m", path="/m", source="local", tags=[])
    session.add(model)
    session.flush()
    job = Job(model_id=model.id, benchmark="mmlu", template="colossaleval", config={})
    session.add(job)
    session.flush()
    return job.id


def test_insert_ignores_conflicts_and_round_trips(session_factory) -> None:
    first = Prediction(question_id="anatomy/0", subject="anatomy", gold="A", pred="B", scores={"A": 0.1, "B": 0.2},
                       correct=False, prompt_sha256="a" * 64, output="B", letter="B", correct_combined=False,
                       prompt="text")
    with session_factory() as session:
        job_id = make_job(session)
        insert_predictions(session, job_id, [first])
        insert_predictions(session, job_id, [first, Prediction(**{**first.to_dict(), "question_id": "anatomy/1"})])
        session.commit()
        assert count_predictions(session, job_id) == 2
        assert stored_question_ids(session, job_id) == {"anatomy/0", "anatomy/1"}
        assert load_predictions(session, job_id)[0] == first
