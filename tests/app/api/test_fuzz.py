"""Fuzz every operation of the OpenAPI schema with schemathesis (with a valid token, so writes run): no 5xx, and
every response (errors included) matches the documented schema, status code and content type.

Examples are derandomized (same inputs every run) and bounded per operation. A model and a job exist first, so
the path ids 1 reach real rows as well as missing ones.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES_PER_OPERATION = 40
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture
def seeded(client, auth: dict[str, str], model_dir: Path) -> None:
    model = client.post("/api/v1/models", json={"name": "m1", "path": str(model_dir)}, headers=auth)
    assert model.status_code == 201, model.text
    jobs = client.post("/api/v1/jobs", json={"model": "m1", "benchmarks": ["mmlu"],
                                             "options": {"subjects": ["abstract_algebra"], "limit": 1}}, headers=auth)
    assert jobs.status_code == 201, jobs.text


def test_fuzz_the_whole_api(app: FastAPI, auth: dict[str, str], seeded: None) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES_PER_OPERATION, derandomize=True, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case) -> None:
            case.call_and_validate(headers=auth, checks=CHECKS)

        check()


def test_ids_beyond_the_column_range_are_404(client, auth: dict[str, str]) -> None:
    for path in ("/api/v1/models/9223372036854775808", "/api/v1/jobs/2147483648", "/api/v1/jobs/0/results"):
        assert client.get(path).status_code == 404, path
    response = client.post("/api/v1/jobs", json={"model": "99999999999999999999", "benchmarks": ["mmlu"]},
                           headers=auth)
    assert response.status_code == 404


def test_nul_characters_are_422_not_500(client, auth: dict[str, str]) -> None:
    response = client.get("/api/v1/leaderboard", params={"run": "\x00"})
    assert response.status_code in (200, 422)  # SQLite compares it; Postgres refuses it with a reason
    if response.status_code == 422:
        assert "NUL" in response.json()["detail"]
