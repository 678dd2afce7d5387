"""A .gguf path registered through the API is converted by a worker: `converting` until ready, errors on the model."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.worker.loop import Worker


def _register(client: TestClient, auth: dict[str, str], name: str, path: Path) -> dict:
    response = client.post("/api/v1/models", json={"name": name, "path": str(path)}, headers=auth)
    assert response.status_code == 201, response.text
    return response.json()


def _queue(client: TestClient, auth: dict[str, str], model_id: int) -> int:
    response = client.post("/api/v1/jobs", json={"model": model_id, "benchmarks": ["mmlu"],
                                                 "options": {"subjects": ["anatomy"], "limit": 1}}, headers=auth)
    assert response.status_code == 201, response.text
    return response.json()[0]["id"] if isinstance(response.json(), list) else response.json()["data"][0]["id"]


def test_gguf_model_converts_in_the_worker(client: TestClient, auth: dict[str, str], settings: Settings,
                                           model_root: Path, session_factory, smollm2_dir: Path) -> None:
    from evaluators.gguf_import import packaged_gguf

    source = model_root / "smollm2.gguf"
    shutil.copy(packaged_gguf("smollm2"), source)
    settings = settings.model_copy(update={"cache_dir": smollm2_dir.parent.parent})  # the machine's conversion cache
    model = _register(client, auth, "smol", source)
    assert (model["status"], model["source"], model["source_file"]) == ("converting", "gguf", str(source.resolve()))
    job_id = _queue(client, auth, model["id"])
    assert client.get(f"/api/v1/jobs/{job_id}").json()["status"] == "queued"

    worker = Worker(session_factory, settings)
    assert worker.run_once() == "converted"
    ready = client.get(f"/api/v1/models/{model['id']}").json()
    assert (ready["status"], ready["source"], ready["error"]) == ("ready", "local", None)
    assert ready["path"] == str(smollm2_dir)
    assert ready["parameter_count"] == 134_515_008


def test_corrupt_gguf_fails_on_the_model(client: TestClient, auth: dict[str, str], settings: Settings,
                                         model_root: Path, session_factory, tmp_path: Path) -> None:
    bad = model_root / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\x03\x00\x00\x00" + b"\xff" * 200)
    settings = settings.model_copy(update={"cache_dir": tmp_path / "cache"})
    model = _register(client, auth, "broken", bad)
    job_id = _queue(client, auth, model["id"])
    assert Worker(session_factory, settings).run_once() == "conversion failed"
    failed = client.get(f"/api/v1/models/{model['id']}").json()
    assert failed["status"] == "failed"
    assert failed["error"].startswith("GGUF conversion of broken.gguf failed: GGUFImportError: broken.gguf is not a "
                                      "readable GGUF file")
    job = client.get(f"/api/v1/jobs/{job_id}").json()
    assert job["status"] == "failed" and job["error"] == failed["error"]
    again = client.post("/api/v1/jobs", json={"model": model["id"], "benchmarks": ["mmlu"]}, headers=auth)
    assert again.status_code == 422 and "cannot be scored" in again.json()["detail"]


@pytest.mark.parametrize("content", [b"not gguf at all", None])
def test_bad_gguf_path_is_422(client: TestClient, auth: dict[str, str], model_root: Path, tmp_path: Path,
                              content: bytes | None) -> None:
    path = model_root / "x.gguf"
    if content is not None:
        path.write_bytes(content)
    response = client.post("/api/v1/models", json={"name": "x", "path": str(path)}, headers=auth)
    assert response.status_code == 422
    assert ("GGUF magic" if content else "not a file") in response.json()["detail"]
    outside = tmp_path / "outside.gguf"
    outside.write_bytes(b"GGUF")
    response = client.post("/api/v1/models", json={"name": "y", "path": str(outside)}, headers=auth)
    assert response.status_code == 422 and "CBENCH_MODEL_ROOTS" in response.json()["detail"]


def test_model_page_shows_the_conversion_state(client: TestClient, auth: dict[str, str], settings: Settings,
                                               model_root: Path, session_factory, tmp_path: Path) -> None:
    bad = model_root / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\xff" * 64)
    model = _register(client, auth, "broken", bad)
    assert "converting (a worker is converting its GGUF file" in client.get(f"/models/{model['id']}").text
    Worker(session_factory, settings.model_copy(update={"cache_dir": tmp_path / "c"})).run_once()
    page = client.get(f"/models/{model['id']}").text
    assert "failed: GGUF conversion of broken.gguf failed" in page
