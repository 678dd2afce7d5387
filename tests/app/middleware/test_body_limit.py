"""Bodies over CBENCH_MAX_BODY_BYTES get 413 (declared or streamed), smaller ones pass through."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.main import create_app


@pytest.fixture
def small_client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update={"max_body_bytes": 200}))
    with TestClient(app) as client:
        yield client
    app.state.engine.dispose()


def test_declared_oversized_body_is_413(small_client: TestClient, auth: dict[str, str]) -> None:
    response = small_client.post("/api/v1/models", content=b"{" + b" " * 500 + b"}", headers={
        **auth, "content-type": "application/json"})
    assert response.status_code == 413
    assert "CBENCH_MAX_BODY_BYTES" in response.json()["detail"]


def test_streamed_oversized_body_is_413(small_client: TestClient, auth: dict[str, str]) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: sent chunked
        yield b'{"name": "x", "path": "'
        for _ in range(10):
            yield b"a" * 50
        yield b'"}'

    response = small_client.post("/api/v1/models", content=chunks(), headers={
        **auth, "content-type": "application/json"})
    assert response.status_code == 413


def test_small_body_passes(small_client: TestClient, auth: dict[str, str], model_dir: Path) -> None:
    response = small_client.post("/api/v1/models", json={"name": "m", "path": str(model_dir)}, headers=auth)
    assert response.status_code == 201, response.text
