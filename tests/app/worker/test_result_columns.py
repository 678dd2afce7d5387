"""A job the worker finishes shows on the leaderboard with the numbers of its stored summary: `finish_job` copies
the summary's headline numbers into the columns `latest_results` reads (SQLite and Postgres)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.config import Settings
from app.db.models import Job
from app.queries.results import latest_results
from app.worker.loop import Worker

from .test_execute import queue

pytestmark = pytest.mark.slow  # imports torch and builds a tiny model


def test_finished_job_columns_match_its_summary(session_factory, worker_settings: Settings,
                                                tiny_model_dir: Path) -> None:
    job_id = queue(session_factory, worker_settings, str(tiny_model_dir))
    assert Worker(session_factory, worker_settings).run(once=True) == 1
    with session_factory() as session:
        job = session.get(Job, job_id)
        (result,) = latest_results(session)
    summary = job.summary
    assert job.status == "succeeded" and result.job_id == job_id
    assert (result.acc, result.ci_low, result.ci_high, result.n, result.correct) == (
        summary["micro"]["acc"], summary["micro"]["ci_low"], summary["micro"]["ci_high"], summary["micro"]["n"],
        summary["micro"]["correct"])
    assert (result.metric, result.expected_n, result.macro_acc, result.complete) == (
        summary["metric"], summary["expected_n"], summary["macro_acc"], summary["complete"])
    assert result.subject_count == len(summary["subjects"]) == 2 and result.partial  # limit 2: a partial run
