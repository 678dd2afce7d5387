"""Identity: names unique after normalisation, unknown fields and wrong types, re-registration, idempotent
submission and tokens that expire or are revoked."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.db.base import utcnow
from app.queries.tokens import create_token, revoke_token

from .conftest import job_count, model_count, refused


@pytest.mark.parametrize("other", ["LLAMA-7B", " llama-7b ", "\uff2c\uff2c\uff21\uff2d\uff21-7b", "llama-7B"])
def test_names_are_unique_after_case_folding(register, client: TestClient, other: str) -> None:
    assert register(name="Llama-7b").status_code == 201
    refused(register(name=other), 409, "name", "Llama-7b")
    assert model_count(client) == 1


@pytest.mark.parametrize("field", ["trust_remote_code", "content_hash", "id", "source", "parameter_count"])
def test_unknown_fields_of_a_model_are_refused(register, client: TestClient, field: str) -> None:
    refused(register(name="m", **{field: 1}), 422, field, "unknown field")
    assert model_count(client) == 0


def test_a_misspelt_option_queues_nothing(register, client: TestClient, auth: dict[str, str]) -> None:
    model = register(name="m").json()["id"]
    for body in ({"model": model, "benchmarks": ["mmlu"], "option": {"limit": 5}},
                 {"model": model, "benchmarks": ["mmlu"], "options": {"limits": 5}},
                 {"model": model, "benchmarks": ["mmlu"], "options": {"limit": "5"}},
                 {"model": model, "benchmarks": "mmlu"},
                 {"model": model, "benchmarks": ["mmlu"], "options": {"limit": True}}):
        response = client.post("/api/v1/jobs", json=body, headers=auth)
        assert response.status_code == 422, (body, response.text)
    detail = refused(client.post("/api/v1/jobs", json={"model": model, "benchmarks": ["mmlu"], "option": {}},
                                 headers=auth), 422, "option")
    assert "unknown field" in detail
    assert job_count(client) == 0


def test_wrong_types_on_checkpoints_are_refused(client: TestClient, auth: dict[str, str], model_dir: Path) -> None:
    body = {"run": "r", "step": "1", "tokens_seen": 1, "path": str(model_dir)}
    refused(client.post("/api/v1/checkpoints", json=body, headers=auth), 422, "step")
    body = {"run": "r", "step": 1, "tokens_seen": 1, "path": str(model_dir), "benchmark": ["mmlu"]}
    refused(client.post("/api/v1/checkpoints", json=body, headers=auth), 422, "benchmark", "unknown field")
    assert model_count(client) == 0


def checkpoint(path: Path, **extra: object) -> dict:
    return {"run": "run1", "step": 100, "tokens_seen": 1000, "path": str(path), "benchmarks": ["mmlu"],
            "options": {"limit": 1}, **extra}


def test_a_checkpoint_name_taken_by_another_model_is_409(register, client: TestClient, auth: dict[str, str],
                                                         model_dir: Path) -> None:
    assert register(name="run1@step-100").status_code == 201  # a plain model, not of any run
    refused(client.post("/api/v1/checkpoints", json=checkpoint(model_dir), headers=auth), 409, "run", "run1")
    assert job_count(client) == 0


def test_re_registration_queues_new_benchmarks_and_refuses_changed_facts(client: TestClient, auth: dict[str, str],
                                                                         model_dir: Path) -> None:
    first = client.post("/api/v1/checkpoints", json=checkpoint(model_dir), headers=auth)
    assert first.status_code == 201
    more = client.post("/api/v1/checkpoints", json=checkpoint(model_dir, benchmarks=["mmlu", "ceval"]), headers=auth)
    assert more.status_code == 201, more.text  # ceval was queued; mmlu was not queued twice
    assert sorted(j["benchmark"] for j in more.json()["jobs"]) == ["ceval", "mmlu"]
    again = client.post("/api/v1/checkpoints", json=checkpoint(model_dir, benchmarks=["ceval"]), headers=auth)
    assert again.status_code == 200 and len(again.json()["jobs"]) == 2
    other_options = client.post("/api/v1/checkpoints", json=checkpoint(model_dir, options={"limit": 2}), headers=auth)
    assert other_options.status_code == 201 and len(other_options.json()["jobs"]) == 3
    refused(client.post("/api/v1/checkpoints", json=checkpoint(model_dir, tokens_seen=5), headers=auth), 409,
            "tokens_seen")
    refused(client.post("/api/v1/checkpoints", json=checkpoint(model_dir, tags=["x"]), headers=auth), 409, "tags")
    assert job_count(client) == 3 and model_count(client) == 1


def test_idempotency_key_makes_repeats_safe(register, client: TestClient, auth: dict[str, str]) -> None:
    model = register(name="m").json()["id"]
    body = {"model": model, "benchmarks": ["mmlu", "ceval"], "options": {"limit": 1}}
    keyed = {**auth, "Idempotency-Key": "submit-2026-12-02-a"}
    first = client.post("/api/v1/jobs", json=body, headers=keyed)
    assert first.status_code == 201
    ids = [j["id"] for j in first.json()["data"]]
    for _ in range(49):
        repeat = client.post("/api/v1/jobs", json=body, headers=keyed)
        assert repeat.status_code == 200 and repeat.headers["Idempotent-Replayed"] == "true"
        assert [j["id"] for j in repeat.json()["data"]] == ids
    assert job_count(client) == 2
    refused(client.post("/api/v1/jobs", json={**body, "benchmarks": ["mmlu"]}, headers=keyed), 422,
            "Idempotency-Key", "different request")
    assert client.post("/api/v1/jobs", json=body, headers=auth).status_code == 201  # no key: a new submission
    assert client.post("/api/v1/jobs", json=body, headers={**keyed, "Idempotency-Key": "b"}).status_code == 201
    assert job_count(client) == 6
    refused(client.post("/api/v1/jobs", json=body, headers={**auth, "Idempotency-Key": "k" * 300}), 422,
            "Idempotency-Key")


def test_idempotency_keys_belong_to_a_token(register, client: TestClient, auth: dict[str, str],
                                            session_factory) -> None:
    model = register(name="m").json()["id"]
    with session_factory() as session:
        _row, other = create_token(session, "other")
        session.commit()
    body = {"model": model, "benchmarks": ["mmlu"]}
    a = client.post("/api/v1/jobs", json=body, headers={**auth, "Idempotency-Key": "same"})
    b = client.post("/api/v1/jobs", json=body, headers={"Authorization": f"Bearer {other}", "Idempotency-Key": "same"})
    assert a.status_code == b.status_code == 201 and a.json()["data"][0]["id"] != b.json()["data"][0]["id"]


def test_expired_and_revoked_tokens_cannot_write(client: TestClient, session_factory, model_dir: Path) -> None:
    with session_factory() as session:
        live, live_token = create_token(session, "live", expires_at=utcnow() + timedelta(hours=1))
        _old, old_token = create_token(session, "old", expires_at=utcnow() + timedelta(seconds=1))
        session.flush()
        _old.expires_at = utcnow() - timedelta(seconds=1)
        session.commit()
    body = {"name": "m", "path": str(model_dir)}
    refused(client.post("/api/v1/models", json=body, headers={"Authorization": f"Bearer {old_token}"}), 401,
            "expired")
    assert client.post("/api/v1/models", json=body, headers={"Authorization": f"Bearer {live_token}"}).status_code \
        == 201
    with session_factory() as session:
        revoke_token(session, live.key)
        session.commit()
    refused(client.post("/api/v1/models", json={**body, "name": "m2"},
                        headers={"Authorization": f"Bearer {live_token}"}), 401, "revoked")
    with session_factory() as session, pytest.raises(ValueError, match="future"):
        create_token(session, "past", expires_at=utcnow() - timedelta(days=1))
