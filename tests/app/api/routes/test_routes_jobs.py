"""POST/GET /api/v1/jobs, cancel, results and predictions."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.queries.predictions import insert_predictions
from evaluators.records import Prediction


@pytest.fixture
def model_id(client: TestClient, auth: dict[str, str], model_dir: Path) -> int:
    return client.post("/api/v1/models", json={"name": "m1", "path": str(model_dir)}, headers=auth).json()["id"]


def submit(client: TestClient, auth: dict[str, str], **body) -> object:
    return client.post("/api/v1/jobs", json=body, headers=auth)


def test_one_job_per_benchmark(client: TestClient, auth: dict[str, str], model_id: int) -> None:
    response = submit(client, auth, model=model_id, benchmarks=["mmlu", "cmmlu"],
                      options={"limit": 2, "device": "cpu"})
    assert response.status_code == 201, response.text
    jobs = response.json()["data"]
    assert [j["benchmark"] for j in jobs] == ["mmlu", "cmmlu"]
    assert all(j["status"] == "queued" and j["config"]["limit"] == 2 for j in jobs)
    assert client.get("/api/v1/jobs", params={"status": "queued"}).json()["count"] == 2
    assert client.get("/api/v1/jobs", params={"model": model_id + 1}).json()["count"] == 0
    assert client.get(f"/api/v1/jobs/{jobs[0]['id']}").json()["benchmark"] == "mmlu"


def test_model_by_name(client: TestClient, auth: dict[str, str], model_id: int) -> None:
    response = submit(client, auth, model="m1", benchmarks=["mmlu"])
    assert response.status_code == 201 and response.json()["data"][0]["model_id"] == model_id


@pytest.mark.parametrize(("body", "needle"), [
    ({"benchmarks": ["nope"]}, "valid: mmlu"),
    ({"benchmarks": ["mmlu"], "template": "nope"}, "valid: colossaleval"),
    ({"benchmarks": ["mmlu"], "options": {"subjects": ["nope"]}}, "abstract_algebra"),
    ({"benchmarks": ["mmlu"], "options": {"backend": "nope"}}, "valid: hf"),
    ({"benchmarks": []}, "benchmarks"),
])
def test_bad_request_is_422_naming_valid_values(client: TestClient, auth: dict[str, str], model_id: int,
                                                body: dict, needle: str) -> None:
    response = submit(client, auth, model=model_id, **body)
    assert response.status_code == 422
    assert needle in response.json()["detail"]
    assert client.get("/api/v1/jobs").json()["count"] == 0


def test_unknown_model_is_404(client: TestClient, auth: dict[str, str]) -> None:
    assert submit(client, auth, model=42, benchmarks=["mmlu"]).status_code == 404


def test_cancel(client: TestClient, auth: dict[str, str], model_id: int) -> None:
    job = submit(client, auth, model=model_id, benchmarks=["mmlu"]).json()["data"][0]
    assert client.post(f"/api/v1/jobs/{job['id']}/cancel").status_code == 401
    response = client.post(f"/api/v1/jobs/{job['id']}/cancel", headers=auth)
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    again = client.post(f"/api/v1/jobs/{job['id']}/cancel", headers=auth)
    assert again.status_code == 409 and "already cancelled" in again.json()["detail"]


def prediction(qid: str, subject: str, correct: bool) -> Prediction:
    return Prediction(question_id=qid, subject=subject, gold="A", pred="A" if correct else "B",
                      scores={"A": 1.0, "B": 0.5 if correct else 2.0}, correct=correct, prompt_sha256="0" * 64,
                      prompt="Q?")


def test_predictions_paging_and_filters(client: TestClient, auth: dict[str, str], model_id: int,
                                        session_factory) -> None:
    job = submit(client, auth, model=model_id, benchmarks=["mmlu"]).json()["data"][0]
    with session_factory() as session:
        insert_predictions(session, job["id"], [prediction(f"anatomy/{i}", "anatomy", i % 2 == 0) for i in range(5)])
        insert_predictions(session, job["id"], [prediction("astronomy/0", "astronomy", True)])
        session.commit()
    url = f"/api/v1/jobs/{job['id']}/predictions"
    assert client.get(url).json()["count"] == 6
    page = client.get(url, params={"subject": "anatomy", "limit": 2, "offset": 2}).json()
    assert page["count"] == 5 and [p["question_id"] for p in page["data"]] == ["anatomy/2", "anatomy/3"]
    wrong = client.get(url, params={"correct": "false"}).json()
    assert wrong["count"] == 2 and all(not p["correct"] for p in wrong["data"])
    results = client.get(f"/api/v1/jobs/{job['id']}/results").json()
    assert results["status"] == "queued" and results["summary"] is None
    assert client.get("/api/v1/jobs/999/predictions").status_code == 404
