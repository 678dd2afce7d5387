"""Concurrency: many writers at once against a real `cbench serve` process. No 500 and no lost write; when the
connection pool is exhausted the answer is 503 with Retry-After; repeats with one Idempotency-Key queue once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from app.worker.retry import with_db_retry

from .conftest import Server


def post_all(server: Server, path: str, bodies: list[dict], headers: dict[str, str] | None = None) -> list:
    """POST every body at once (one thread each); returns the responses."""
    auth = {"Authorization": f"Bearer {server.token}", **(headers or {})}
    with httpx.Client(base_url=server.url, timeout=180, limits=httpx.Limits(max_connections=len(bodies))) as client, \
            ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(lambda body: client.post(path, json=body, headers=auth), bodies))


def stored(server: Server, path: str) -> int:
    return httpx.get(f"{server.url}{path}", timeout=30).json()["count"]


@pytest.mark.parametrize("writers", [50, 200])
def test_concurrent_model_writers_all_succeed(serve, model_dir: Path, writers: int) -> None:
    server = serve()
    responses = post_all(server, "/api/v1/models", [{"name": f"m-{i}", "path": str(model_dir)} for i in range(writers)])
    assert sorted({r.status_code for r in responses}) == [201], [r.text for r in responses if r.status_code != 201][:3]
    assert stored(server, "/api/v1/models?limit=1") == writers


def test_concurrent_checkpoint_writers_all_succeed(serve, model_dir: Path) -> None:
    server = serve()
    bodies = [{"run": "run-a", "step": step, "tokens_seen": step * 10, "path": str(model_dir),
               "benchmarks": ["mmlu", "ceval"], "options": {"limit": 1}} for step in range(50)]
    responses = post_all(server, "/api/v1/checkpoints", bodies)
    assert sorted({r.status_code for r in responses}) == [201], [r.text for r in responses if r.status_code != 201][:3]
    assert stored(server, "/api/v1/models?limit=1") == 50 and stored(server, "/api/v1/jobs?limit=1") == 100


def test_overload_answers_503_with_retry_after_and_loses_nothing(serve, model_dir: Path) -> None:
    server = serve(CBENCH_DB_POOL_SIZE="1", CBENCH_DB_MAX_OVERFLOW="0", CBENCH_REQUEST_QUEUE_TIMEOUT="0.02")
    responses = post_all(server, "/api/v1/models", [{"name": f"m-{i}", "path": str(model_dir)} for i in range(60)])
    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {201, 503}, [r.text for r in responses if r.status_code not in (201, 503)][:3]
    assert 503 in statuses
    for response in responses:
        if response.status_code == 503:
            assert int(response.headers["Retry-After"]) >= 1 and "retry" in response.json()["detail"]
    assert stored(server, "/api/v1/models?limit=1") == statuses.count(201)  # every 201 is stored, no 503 is


def test_no_connection_within_the_pool_timeout_is_503_not_500(settings, model_dir: Path, session_factory) -> None:
    """The pool's own timeout (a connection held elsewhere, as by a long report) is a 503 too, never a 500."""
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.queries.tokens import create_token

    with session_factory() as session:
        _row, token = create_token(session, "t")
        session.commit()
    app = create_app(settings.model_copy(update={"db_pool_size": 1, "db_max_overflow": 0, "db_pool_timeout": 0.1}))
    try:
        with TestClient(app) as client, app.state.engine.connect():  # the only connection is taken
            response = client.post("/api/v1/models", json={"name": "m", "path": str(model_dir)},
                                   headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 503 and response.headers["Retry-After"] == "1", response.text
        with TestClient(app) as client:
            assert client.get("/api/v1/models").json()["count"] == 0
    finally:
        app.state.engine.dispose()


def test_concurrent_repeats_with_one_idempotency_key_queue_once(serve, register, model_dir: Path) -> None:
    server = serve()
    model = httpx.post(f"{server.url}/api/v1/models", json={"name": "m", "path": str(model_dir)}, timeout=30,
                       headers={"Authorization": f"Bearer {server.token}"}).json()["id"]
    body = {"model": model, "benchmarks": ["mmlu", "cmmlu"], "options": {"limit": 1}}
    responses = post_all(server, "/api/v1/jobs", [body] * 30, headers={"Idempotency-Key": "once"})
    assert sorted({r.status_code for r in responses}) <= [200, 201], [r.text for r in responses][:3]
    assert [r.status_code for r in responses].count(201) == 1
    assert len({tuple(j["id"] for j in r.json()["data"]) for r in responses}) == 1
    assert stored(server, "/api/v1/jobs?limit=1") == 2


def test_the_worker_waits_out_an_exhausted_pool_instead_of_requeueing() -> None:
    calls: list[int] = []

    def step() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise PoolTimeoutError("QueuePool limit of size 5 overflow 10 reached")
        return "stored"

    assert with_db_retry(step, "storing predictions", sleep=lambda _s: None) == "stored"
    assert len(calls) == 3
