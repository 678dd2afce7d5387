"""Size: lengths and counts of every text and list a client sends, and a name filter regex that backtracks."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.schemas.fields import LIMITS

from .conftest import job_count, model_count, refused


def test_a_10kb_tag_is_refused(register, client: TestClient) -> None:
    refused(register(name="m", tags=["x" * 10_000]), 422, "tags.0", str(LIMITS.tag_chars))
    assert model_count(client) == 0


def test_5000_tags_are_refused(register, client: TestClient) -> None:
    refused(register(name="m", tags=[f"t{i}" for i in range(5000)]), 422, "tags", str(LIMITS.tags))
    assert register(name="m", tags=[f"t{i}" for i in range(LIMITS.tags)]).status_code == 201


def test_repeated_tags_are_refused(register) -> None:
    refused(register(name="m", tags=["base", "Base"]), 422, "tags", "repeat")


def test_a_900kb_description_is_refused(register, client: TestClient) -> None:
    refused(register(name="m", description="d" * 900_000), 422, "description", str(LIMITS.description_chars))
    assert register(name="m", description="d" * LIMITS.description_chars).status_code == 201


def test_long_names_and_paths_are_refused(register, client: TestClient, auth: dict[str, str]) -> None:
    refused(register(name="n" * (LIMITS.name_chars + 1)), 422, "name")
    refused(client.post("/api/v1/models", json={"name": "m", "path": "p" * 5000}, headers=auth), 422, "path")
    body = {"run": "r" * (LIMITS.run_chars + 1), "step": 1, "tokens_seen": 1, "path": "x"}
    refused(client.post("/api/v1/checkpoints", json=body, headers=auth), 422, "run")
    assert model_count(client) == 0


def test_counts_of_benchmarks_and_subjects_are_limited(register, client: TestClient, auth: dict[str, str]) -> None:
    model = register(name="m").json()["id"]
    too_many = {"model": model, "benchmarks": ["mmlu"], "options": {"subjects": [f"s{i}" for i in range(5000)]}}
    refused(client.post("/api/v1/jobs", json=too_many, headers=auth), 422, "options.subjects")
    benchmarks = {"model": model, "benchmarks": ["mmlu"] * 100}
    refused(client.post("/api/v1/jobs", json=benchmarks, headers=auth), 422, "benchmarks")
    refused(client.post("/api/v1/jobs", json={"model": model, "benchmarks": ["x" * 10_000]}, headers=auth), 422,
            "benchmarks.0")
    assert job_count(client) == 0


@pytest.mark.timeout(60)  # with a backtracking engine this request alone runs for hours
def test_a_pathological_name_regex_runs_in_linear_time(register, client: TestClient) -> None:
    assert register(name="a" * 40 + "!").status_code == 201
    assert register(name="aaaa").status_code == 201
    response = client.get("/leaderboard.json", params={"q": "^(a+)+$", "unscored": "1"})
    assert response.status_code == 200
    assert [row["name"] for row in response.json()["rows"]] == ["aaaa"]
    assert client.get("/", params={"q": "(a|aa)*c$"}).status_code == 200


def test_regex_features_re2_lacks_are_a_clear_422(client: TestClient) -> None:
    refused(client.get("/leaderboard.json", params={"q": r"(a)\1"}), 422, "q", "RE2")
    refused(client.get("/leaderboard.json", params={"q": "(?=a)"}), 422, "q")
    refused(client.get("/leaderboard.json", params={"q": "a" * 500}), 422, "q")
