"""POST/GET /api/v1/models."""

from __future__ import annotations

import os
from pathlib import Path

from fastapi.testclient import TestClient


def test_register_and_read_model(client: TestClient, auth: dict[str, str], model_dir: Path) -> None:
    response = client.post("/api/v1/models", json={"name": "m1", "path": str(model_dir), "tags": ["base"]},
                           headers=auth)
    assert response.status_code == 201, response.text
    model = response.json()
    assert model["source"] == "local"
    assert model["path"] == str(model_dir.resolve())
    assert model["parameter_count"] == 6
    assert model["dtype"] == "float32"
    assert model["tokenizer"].startswith("LlamaTokenizer sha256:")
    assert len(model["content_hash"]) == 64
    assert client.get(f"/api/v1/models/{model['id']}").json()["name"] == "m1"
    listing = client.get("/api/v1/models").json()
    assert listing["count"] == 1 and listing["data"][0]["tags"] == ["base"]


def test_write_without_token_is_401(client: TestClient, model_dir: Path) -> None:
    response = client.post("/api/v1/models", json={"name": "m1", "path": str(model_dir)})
    assert response.status_code == 401
    assert "Bearer" in response.json()["detail"]
    bad = client.post("/api/v1/models", json={"name": "m1", "path": str(model_dir)},
                      headers={"Authorization": "Bearer cbt_nope_nope"})
    assert bad.status_code == 401


def test_path_without_config_is_422(client: TestClient, auth: dict[str, str], model_root: Path) -> None:
    empty = model_root / "empty"
    empty.mkdir()
    response = client.post("/api/v1/models", json={"name": "x", "path": str(empty)}, headers=auth)
    assert response.status_code == 422
    assert "config.json" in response.json()["detail"]


def test_path_outside_roots_names_the_variable(client: TestClient, auth: dict[str, str], tmp_path: Path,
                                               model_root: Path, make_model_dir) -> None:
    outside = make_model_dir(tmp_path / "elsewhere")
    response = client.post("/api/v1/models", json={"name": "x", "path": str(outside)}, headers=auth)
    assert response.status_code == 422
    assert "CBENCH_MODEL_ROOTS" in response.json()["detail"]
    link = model_root / "sneaky"
    os.symlink(outside, link)  # a link inside the root that points outside is refused too
    response = client.post("/api/v1/models", json={"name": "x", "path": str(link)}, headers=auth)
    assert response.status_code == 422
    assert "CBENCH_MODEL_ROOTS" in response.json()["detail"]


def test_hub_id_is_recorded_with_revision(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post("/api/v1/models", json={"name": "hub", "path": "someorg/some-model"}, headers=auth)
    assert response.status_code == 201, response.text
    assert response.json()["source"] == "hub"
    assert response.json()["revision"] == "main"


def test_duplicate_name_is_409_and_unknown_model_404(client: TestClient, auth: dict[str, str],
                                                     model_dir: Path) -> None:
    assert client.post("/api/v1/models", json={"name": "m1", "path": str(model_dir)}, headers=auth).status_code == 201
    again = client.post("/api/v1/models", json={"name": "m1", "path": str(model_dir)}, headers=auth)
    assert again.status_code == 409
    missing = client.get("/api/v1/models/999")
    assert missing.status_code == 404 and missing.json() == {"detail": "model 999 not found"}


def test_validation_errors_are_one_message(client: TestClient, auth: dict[str, str]) -> None:
    response = client.post("/api/v1/models", json={"name": ""}, headers=auth)
    assert response.status_code == 422
    assert isinstance(response.json()["detail"], str) and "path" in response.json()["detail"]
