"""POST /api/v1/checkpoints: register a training checkpoint and queue its jobs, idempotently."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient


def body(path: Path, **extra) -> dict:
    return {"run": "run1", "step": 1000, "tokens_seen": 4_096_000, "path": str(path), "benchmarks": ["mmlu", "ceval"],
            "options": {"limit": 1}, "tags": ["cpt"], **extra}


def test_register_checkpoint_queues_jobs(client: TestClient, auth: dict[str, str], model_dir: Path) -> None:
    response = client.post("/api/v1/checkpoints", json=body(model_dir), headers=auth)
    assert response.status_code == 201, response.text
    payload = response.json()
    assert payload["model"]["name"] == "run1@step-1000"
    assert payload["model"]["training_run"] == "run1" and payload["model"]["tokens_seen"] == 4_096_000
    assert [j["benchmark"] for j in payload["jobs"]] == ["mmlu", "ceval"]
    again = client.post("/api/v1/checkpoints", json=body(model_dir), headers=auth)
    assert again.status_code == 200
    assert again.json()["model"]["id"] == payload["model"]["id"]
    assert [j["id"] for j in again.json()["jobs"]] == [j["id"] for j in payload["jobs"]]
    assert client.get("/api/v1/jobs").json()["count"] == 2


def test_same_step_other_path_is_409(client: TestClient, auth: dict[str, str], model_dir: Path, model_root: Path,
                                     make_model_dir) -> None:
    other = make_model_dir(model_root / "other")
    assert client.post("/api/v1/checkpoints", json=body(model_dir), headers=auth).status_code == 201
    response = client.post("/api/v1/checkpoints", json=body(other), headers=auth)
    assert response.status_code == 409


def test_bad_checkpoint_registers_nothing(client: TestClient, auth: dict[str, str], model_dir: Path) -> None:
    response = client.post("/api/v1/checkpoints", json=body(model_dir, benchmarks=["nope"]), headers=auth)
    assert response.status_code == 422 and "valid:" in response.json()["detail"]
    assert client.get("/api/v1/models").json()["count"] == 0
    assert client.post("/api/v1/checkpoints", json=body(model_dir)).status_code == 401


def test_description_is_stored_with_the_checkpoint(client: TestClient, auth: dict[str, str], model_dir: Path) -> None:
    response = client.post("/api/v1/checkpoints", json=body(model_dir, description="demo run on dev questions"),
                           headers=auth)
    assert response.status_code == 201, response.text
    model = client.get(f"/api/v1/models/{response.json()['model']['id']}").json()
    assert model["description"] == "demo run on dev questions"
