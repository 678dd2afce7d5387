"""The leaderboard cache serves a stored copy, notices a job finished in another process (version check after
the TTL) and is dropped at once when a job finishes in this process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.db.base import utcnow
from app.db.models import Job, Model
from app.main import create_app
from app.middleware import response_cache


@pytest.fixture
def cached(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update={"leaderboard_cache_seconds": 3600}))
    with TestClient(app) as client:
        yield client
    app.state.engine.dispose()


def add_result(session_factory, name: str, acc: float) -> None:
    summary = {"metric": "first_token_acc", "complete": True, "micro": {"acc": acc, "ci_low": 0.0, "ci_high": 1.0,
                                                                         "n": 10}}
    with session_factory() as session:
        model = Model(name=name, path="/x", source="local", tags=[])
        session.add(model)
        session.flush()
        session.add(Job(model_id=model.id, benchmark="mmlu", template="colossaleval", config={}, status="succeeded",
                        summary=summary, finished_at=utcnow()))
        session.commit()


def names(client: TestClient) -> list[str]:
    return [row["model_name"] for row in client.get("/api/v1/leaderboard").json()["data"]]


def test_hit_then_version_change_then_invalidate(cached: TestClient) -> None:
    session_factory = cached.app.state.session_factory
    add_result(session_factory, "a", 50.0)
    first = cached.get("/api/v1/leaderboard")
    assert first.headers["x-cache"] == "miss" and [r["model_name"] for r in first.json()["data"]] == ["a"]
    again = cached.get("/api/v1/leaderboard")
    assert again.headers["x-cache"] == "hit" and again.content == first.content
    add_result(session_factory, "b", 60.0)  # as if a worker in another process finished a job
    assert names(cached) == ["a"]  # still fresh (TTL of an hour)
    response_cache.invalidate()  # what finish_job does in this process
    assert names(cached) == ["b", "a"]
    other_query = cached.get("/api/v1/leaderboard", params={"benchmark": "mmlu"})
    assert other_query.headers["x-cache"] == "miss"


def test_expired_entry_is_revalidated_against_the_database(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"leaderboard_cache_seconds": 0.001}))
    with TestClient(app) as client:
        add_result(app.state.session_factory, "a", 50.0)
        assert names(client) == ["a"]
        assert client.get("/api/v1/leaderboard").headers["x-cache"] == "hit"  # expired, version unchanged
        add_result(app.state.session_factory, "b", 60.0)
        response = client.get("/api/v1/leaderboard")
        assert response.headers["x-cache"] == "miss"
        assert [r["model_name"] for r in response.json()["data"]] == ["b", "a"]
    app.state.engine.dispose()


def test_cache_off_and_errors_not_stored(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"leaderboard_cache_seconds": 0}))
    with TestClient(app) as client:
        assert "x-cache" not in client.get("/api/v1/leaderboard").headers
    app.state.engine.dispose()
