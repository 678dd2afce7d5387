"""Migration 20261202_12a on a database holding rows: it backfills `jobs.complete` and the headline numbers from the
summaries and moves each prompt text into `prompts` once (reads unchanged); its downgrade puts the texts back
(SQLite and Postgres)."""

from __future__ import annotations

import hashlib
import json

from alembic import command
from sqlalchemy import text

from app.db.migrate import alembic_config, upgrade
from app.db.session import make_engine, make_session_factory
from app.queries.predictions import list_predictions, load_predictions

BEFORE = "6966314cfd43"
PROMPTS = ("Question one?\nAnswer:", "Question two?\nAnswer:")


def _sha(prompt: str) -> str:
    return hashlib.sha256(prompt.encode()).hexdigest()


def _seed_old_schema(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO models (id, name, path, source, tags, created_at) "
                                "VALUES (1, 'm', '/m', 'local', '[]', '2026-01-01 00:00:00')"))
        for job_id, complete in ((1, True), (2, False), (3, None)):
            summary = None if complete is None else json.dumps({"complete": complete, "micro": {"acc": 50.0}})
            connection.execute(text(
                "INSERT INTO jobs (id, model_id, benchmark, template, config, status, progress_done, attempts, "
                "created_at, updated_at, summary) VALUES (:id, 1, 'mmlu', 'colossaleval', '{}', :status, 0, 0, "
                "'2026-01-01 00:00:00', '2026-01-01 00:00:00', :summary)"),
                {"id": job_id, "status": "queued" if summary is None else "succeeded", "summary": summary})
        for job_id in (1, 2):  # both jobs saw the same two prompts; one more row kept no text
            for index, prompt in enumerate(PROMPTS):
                connection.execute(text(
                    "INSERT INTO predictions (job_id, question_id, subject, gold, pred, scores, correct, "
                    "prompt_sha256, prompt) VALUES (:job, :qid, 's', 'A', 'A', '{}', true, :sha, :prompt)"),
                    {"job": job_id, "qid": f"s/{index}", "sha": _sha(prompt), "prompt": prompt})
        connection.execute(text("INSERT INTO predictions (job_id, question_id, subject, gold, pred, scores, correct, "
                                "prompt_sha256, prompt) VALUES (1, 's/9', 's', 'A', 'B', '{}', false, :sha, NULL)"),
                           {"sha": "0" * 64})
    engine.dispose()


def test_upgrade_moves_prompts_and_backfills_complete(empty_db_url: str) -> None:
    upgrade(empty_db_url, BEFORE)
    _seed_old_schema(empty_db_url)
    upgrade(empty_db_url)
    engine = make_engine(empty_db_url)
    try:
        with engine.connect() as connection:
            prompts = dict(connection.execute(text("SELECT sha256, text FROM prompts")).all())
            complete = dict(connection.execute(text("SELECT id, complete FROM jobs")).all())
            acc = dict(connection.execute(text("SELECT id, acc FROM jobs")).all())
        assert prompts == {_sha(p): p for p in PROMPTS}  # two texts once each, not four
        assert complete == {1: True, 2: False, 3: None}
        assert acc == {1: 50.0, 2: 50.0, 3: None}  # headline numbers copied from the summaries
        with make_session_factory(engine)() as session:
            loaded = {p.question_id: p.prompt for p in load_predictions(session, 2)}
            assert loaded == {"s/0": PROMPTS[0], "s/1": PROMPTS[1]}
            page, count = list_predictions(session, 1)
            assert count == 3 and [p.prompt for p in page] == [PROMPTS[0], PROMPTS[1], None]
        command.downgrade(alembic_config(empty_db_url), BEFORE)
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT job_id, question_id, prompt FROM predictions "
                                           "ORDER BY job_id, question_id")).all()
        assert [r.prompt for r in rows] == [PROMPTS[0], PROMPTS[1], None, PROMPTS[0], PROMPTS[1]]
    finally:
        engine.dispose()
