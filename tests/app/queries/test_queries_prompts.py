"""Prompts are stored once per text, whatever the number of jobs that saw them, and read back with every
prediction (SQLite and Postgres)."""

from __future__ import annotations

import hashlib

from sqlalchemy import func, select

from app.db.models import Job, Model, Prompt
from app.queries.predictions import insert_predictions, list_predictions, load_predictions
from evaluators.records import Prediction


def _prediction(index: int, prompt: str | None) -> Prediction:
    text = prompt if prompt is not None else f"unkept {index}"
    return Prediction(question_id=f"s/{index}", subject="s", gold="A", pred="A", scores={"A": -0.1, "B": -2.0},
                      correct=True, prompt_sha256=hashlib.sha256(text.encode()).hexdigest(), prompt=prompt)


def test_each_prompt_is_stored_once_and_read_back(session_factory) -> None:
    prompts = [f"The following question {i} is about algebra.\nAnswer:" for i in range(5)]
    with session_factory() as session:
        model = Model(name="m", path="/m", source="local", tags=[])
        session.add(model)
        session.flush()
        jobs = [Job(model_id=model.id, benchmark="mmlu", template="colossaleval", config={}) for _ in range(3)]
        session.add_all(jobs)
        session.flush()
        for job in jobs:
            insert_predictions(session, job.id, [_prediction(i, p) for i, p in enumerate(prompts)])
        insert_predictions(session, jobs[0].id, [_prediction(i, p) for i, p in enumerate(prompts)])  # a retry
        insert_predictions(session, jobs[0].id, [_prediction(9, None)])  # a run that keeps no text
        session.commit()
        assert session.scalar(select(func.count()).select_from(Prompt)) == len(prompts)
        for job in jobs:
            assert [p.prompt for p in load_predictions(session, job.id)][:5] == prompts
        page, count = list_predictions(session, jobs[0].id, offset=4, limit=2)
        assert count == 6 and [p.prompt for p in page] == [prompts[4], None]

