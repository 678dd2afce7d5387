"""/healthz, /readyz (database reachable and migrations current, else 503 with the reason) and /metrics."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import text

from app.api.ops import render_metrics
from app.core.config import Settings
from app.db.models import Job, Model, PredictionRow
from app.main import create_app
from app.queries.ops import QueueStats


def test_healthz_and_readyz(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"status": "ok"}


def test_readyz_503_when_migrations_are_behind(client: TestClient) -> None:
    engine = client.app.state.engine
    with engine.begin() as connection:
        head = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    try:
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = 'older'"))
        response = client.get("/readyz")
        assert response.status_code == 503
        assert "older" in response.json()["detail"] and "cbench migrate" in response.json()["detail"]
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM alembic_version"))
        assert "at migration none" in client.get("/readyz").json()["detail"]
    finally:  # the Postgres database is shared by the whole session: put the version back
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM alembic_version"))
            connection.execute(text("INSERT INTO alembic_version (version_num) VALUES (:head)"), {"head": head})


def test_readyz_503_when_database_unreachable(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={
        "database_url": "postgresql+psycopg://postgres@127.0.0.1:1/nowhere?connect_timeout=2"}))
    with TestClient(app) as client:
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["detail"].startswith("database unreachable: OperationalError")
        assert client.get("/healthz").status_code == 200
    app.state.engine.dispose()


def test_metrics_counts_from_the_database(client: TestClient) -> None:
    with client.app.state.session_factory() as session:
        model = Model(name="m", path="/x", source="local", tags=[])
        session.add(model)
        session.flush()
        jobs = [Job(model_id=model.id, benchmark="mmlu", template="colossaleval", config={}, status=status)
                for status in ("queued", "queued", "running", "failed")]
        session.add_all(jobs)
        session.flush()
        session.add_all(PredictionRow(job_id=jobs[2].id, question_id=f"q{i}", subject="s", gold="A", pred="A",
                                      scores={}, correct=True, prompt_sha256="0" * 64) for i in range(3))
        session.commit()
    response = client.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = dict(line.rsplit(" ", 1) for line in response.text.splitlines() if not line.startswith("#"))
    assert samples["cbench_queue_depth"] == "2"
    assert samples["cbench_running_jobs"] == "1"
    assert samples["cbench_questions_scored_total"] == "3"
    assert samples["cbench_job_failures_total"] == "1"
    assert samples['cbench_jobs{status="succeeded"}'] == "0"


def test_exposition_format_is_well_formed() -> None:
    text_out = render_metrics(QueueStats(jobs_by_status={"queued": 1, "failed": 2}, questions_scored=7))
    assert text_out.endswith("\n")
    declared = set()
    for line in text_out.splitlines():
        if line.startswith("# TYPE "):
            _hash, _type, name, kind = line.split(" ")
            assert kind in ("gauge", "counter")
            declared.add(name)
        elif not line.startswith("# HELP "):
            name = line.split("{")[0].split(" ")[0]
            assert name in declared, line
            float(line.rsplit(" ", 1)[1])
