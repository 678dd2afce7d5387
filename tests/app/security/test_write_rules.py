"""Who may write and what the server refuses: every write needs a valid token (none is stored in clear or logged),
model code is refused unless the operator allows it, subjects cannot name files outside the data directory."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.db.models import ApiToken
from app.main import create_app


def write_operations(client: TestClient) -> list[tuple[str, str]]:
    """(method, path) of every documented operation that changes state."""
    paths = client.app.openapi()["paths"]
    return [(method.upper(), path) for path, operations in paths.items() for method in operations
            if method in ("post", "put", "patch", "delete")]


def test_every_write_route_needs_a_token(client: TestClient) -> None:
    operations = write_operations(client)
    assert {path for _m, path in operations} >= {"/api/v1/models", "/api/v1/jobs", "/api/v1/jobs/{job_id}/cancel",
                                                 "/api/v1/checkpoints"}
    for method, template in operations:
        path = template.replace("{job_id}", "1")
        for headers in ({}, {"Authorization": "Bearer cbt_abc_wrong"}, {"Authorization": "Basic dXNlcjpwdw=="}):
            response = client.request(method, path, json={}, headers=headers)
            assert response.status_code == 401, (template, headers, response.text)


def test_token_is_stored_hashed_and_never_logged(client: TestClient, auth: dict[str, str], model_dir: Path,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    token = auth["Authorization"].split(" ", 1)[1]
    secret = token.split("_", 2)[2]
    with client.app.state.session_factory() as session:
        stored = session.query(ApiToken).one()
        assert secret not in stored.token_hash and secret not in stored.key and len(stored.token_hash) == 64
    with caplog.at_level(logging.DEBUG):
        model = client.post("/api/v1/models", json={"name": "m", "path": str(model_dir)}, headers=auth).json()
        client.post("/api/v1/jobs", json={"model": model["id"], "benchmarks": ["mmlu"]}, headers=auth)
        client.post("/api/v1/jobs", json={"model": model["id"], "benchmarks": ["mmlu"]},
                    headers={"Authorization": f"Bearer {token}x"})
    assert any(getattr(r, "job_id", None) for r in caplog.records), "job submission is logged with its id"
    assert all(secret not in r.getMessage() for r in caplog.records)


def test_token_check_uses_a_constant_time_comparison(monkeypatch: pytest.MonkeyPatch) -> None:
    from app.core import security

    calls = []
    real = security.hmac.compare_digest
    monkeypatch.setattr(security.hmac, "compare_digest", lambda a, b: calls.append((a, b)) or real(a, b))
    _key, token = security.new_token()
    assert security.token_matches(token, security.hash_token(token))
    assert not security.token_matches(token + "x", security.hash_token(token))
    assert len(calls) == 2


def remote_code_model(root: Path) -> Path:
    directory = root / "custom"
    directory.mkdir()
    (directory / "config.json").write_text(json.dumps({"model_type": "custom", "auto_map": {
        "AutoModelForCausalLM": "modeling_custom.CustomModel"}}))
    return directory


def test_remote_code_refused_unless_the_operator_allows_it(client: TestClient, auth: dict[str, str],
                                                           model_root: Path, settings: Settings) -> None:
    path = remote_code_model(model_root)
    refused = client.post("/api/v1/models", json={"name": "c", "path": str(path)}, headers=auth)
    assert refused.status_code == 422 and "CBENCH_ALLOW_REMOTE_CODE" in refused.json()["detail"]
    options = client.post("/api/v1/jobs", json={"model": 1, "benchmarks": ["mmlu"],
                                                "options": {"trust_remote_code": True}}, headers=auth)
    assert options.status_code == 422 and "trust_remote_code" in options.json()["detail"]
    allowed_app = create_app(settings.model_copy(update={"allow_remote_code": True}))
    with TestClient(allowed_app) as allowed:
        response = allowed.post("/api/v1/models", json={"name": "c", "path": str(path)}, headers=auth)
        assert response.status_code == 201, response.text
    allowed_app.state.engine.dispose()


@pytest.mark.parametrize("subject", ["../../../etc/passwd", "/etc/passwd", "abstract_algebra/../../x"])
def test_subjects_cannot_name_files_outside_the_data_directory(client: TestClient, auth: dict[str, str],
                                                               model_dir: Path, subject: str) -> None:
    model = client.post("/api/v1/models", json={"name": "m", "path": str(model_dir)}, headers=auth).json()
    response = client.post("/api/v1/jobs", json={"model": model["id"], "benchmarks": ["mmlu"],
                                                 "options": {"subjects": [subject]}}, headers=auth)
    assert response.status_code == 422 and "abstract_algebra" in response.json()["detail"]


def test_data_paths_are_resolved_inside_the_data_directory(tmp_path: Path) -> None:
    from evaluators.loaders import resolve_data_path

    (tmp_path / "inside.csv").write_text("x")
    outside = tmp_path.parent / f"{tmp_path.name}-outside.csv"
    outside.write_text("x")
    (tmp_path / "link.csv").symlink_to(outside)
    assert resolve_data_path(tmp_path, "inside.csv") == (tmp_path / "inside.csv").resolve()
    for escape in ("../" + outside.name, str(outside), "link.csv"):
        with pytest.raises(ValueError, match="escapes the data directory"):
            resolve_data_path(tmp_path, escape)
