"""GET /api/v1/leaderboard: newest succeeded job per model and benchmark, with filters."""

from __future__ import annotations

from fastapi.testclient import TestClient

from app.db.models import Job, Model
from evaluators.aggregate import summarize
from evaluators.records import Prediction


def add_result(session, model: Model, benchmark: str, correct: list[bool], status: str = "succeeded",
               template: str = "colossaleval") -> Job:
    predictions = [Prediction(question_id=f"s/{i}", subject="s", gold="A", pred="A" if ok else "B", scores={},
                              correct=ok, prompt_sha256="") for i, ok in enumerate(correct)]
    job = Job(model_id=model.id, benchmark=benchmark, template=template, config={}, status=status,
              summary=summarize(benchmark, predictions).to_dict())
    session.add(job)
    session.flush()
    return job


def test_leaderboard(client: TestClient, session_factory) -> None:
    with session_factory() as session:
        a = Model(name="a", path="/a", source="local", tags=["base"], training_run="r1", step=10)
        b = Model(name="b", path="/b", source="local", tags=["cpt"], training_run="r2", step=20)
        session.add_all([a, b])
        session.flush()
        add_result(session, a, "mmlu", [True, False, False, False])  # superseded by the next one
        newest = add_result(session, a, "mmlu", [True, True, False, False])
        add_result(session, b, "mmlu", [True, True, True, False])
        add_result(session, b, "cmmlu", [True])
        add_result(session, b, "ceval", [True], status="failed")
        session.commit()
    rows = client.get("/api/v1/leaderboard").json()["data"]
    assert [(r["benchmark"], r["model_name"]) for r in rows] == [("cmmlu", "b"), ("mmlu", "b"), ("mmlu", "a")]
    a_row = rows[2]
    assert a_row["acc"] == 50.0 and a_row["n"] == 4 and a_row["job_id"] == newest.id
    assert a_row["ci_low"] < 50.0 < a_row["ci_high"]
    assert client.get("/api/v1/leaderboard", params={"benchmark": "cmmlu"}).json()["count"] == 1
    assert [r["model_name"] for r in client.get("/api/v1/leaderboard", params={"tag": "base"}).json()["data"]] == ["a"]
    assert client.get("/api/v1/leaderboard", params={"run": "r2"}).json()["count"] == 2


def test_templates_are_never_mixed_in_one_column(client: TestClient, session_factory) -> None:
    with session_factory() as session:
        model = Model(name="m", path="/m", source="local", tags=[])
        session.add(model)
        session.flush()
        colossal = add_result(session, model, "mmlu", [True, True, True, False])
        harness = add_result(session, model, "mmlu", [True, False, False, False], template="harness")  # newer
        session.commit()
    (row,) = client.get("/api/v1/leaderboard").json()["data"]
    assert (row["job_id"], row["template"], row["acc"]) == (colossal.id, "colossaleval", 75.0)
    (row,) = client.get("/api/v1/leaderboard", params={"template": "harness"}).json()["data"]
    assert (row["job_id"], row["template"], row["acc"]) == (harness.id, "harness", 25.0)
    bad = client.get("/api/v1/leaderboard", params={"template": "lm-eval"})
    assert bad.status_code == 422 and "colossaleval" in bad.json()["detail"]
    page = client.get("/", params={"template": "harness"}).text
    assert f'href="/jobs/{harness.id}"' in page and f'href="/jobs/{colossal.id}"' not in page
