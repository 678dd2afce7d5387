"""`content_hash` is a fingerprint of the weights' bytes (and the config): one changed weight changes it, two demo
models with different random weights differ, it is computed off the request path, and file digests are cached by
path, size and mtime (SQLite and Postgres)."""

from __future__ import annotations

import os
import struct
import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.db.models import Model
from app.main import create_app
from app.queries.tokens import create_token
from app.services import fingerprint
from app.services.fingerprint import WeightHasher


@pytest.fixture
def auth_for():
    """A write token for a given app."""

    def make(app) -> dict[str, str]:
        with app.state.session_factory() as session:
            _row, token = create_token(session, "tests")
            session.commit()
        return {"Authorization": f"Bearer {token}"}

    return make


def _register(client: TestClient, auth: dict[str, str], name: str, path: Path) -> dict:
    response = client.post("/api/v1/models", json={"name": name, "path": str(path)}, headers=auth)
    assert response.status_code == 201, response.text
    return response.json()


def _change_one_weight(directory: Path) -> None:
    """Overwrite the last float of the safetensors file: same names, same sizes, same header, one weight differs."""
    weights = directory / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-4:] = struct.pack("<f", 0.5)
    weights.write_bytes(bytes(data))


def test_one_changed_weight_changes_the_hash(client: TestClient, auth: dict[str, str], model_root: Path,
                                             make_model_dir) -> None:
    first = _register(client, auth, "a", make_model_dir(model_root / "a"))
    same = _register(client, auth, "b", make_model_dir(model_root / "b"))
    changed_dir = make_model_dir(model_root / "c")
    _change_one_weight(changed_dir)
    changed = _register(client, auth, "c", changed_dir)
    assert len(first["content_hash"]) == 64
    assert same["content_hash"] == first["content_hash"]  # same bytes, another directory: same fingerprint
    assert changed["content_hash"] != first["content_hash"]


def test_two_random_models_with_different_weights_differ(client: TestClient, auth: dict[str, str],
                                                         model_root: Path, data_dir: Path) -> None:
    """Two random-init LLaMAs (as the demo's baseline is built) of one shape and two seeds: the same weight file names
    and sizes, different bytes; registered through the API, their fingerprints differ."""
    pytest.importorskip("torch")
    from evaluators.tiny_model import build_tiny_llama

    directories = [build_tiny_llama(model_root / f"seed-{seed}", data_dir / "tokenizers" / "llama2", seed=seed)
                   for seed in (1, 2)]
    hashes = [_register(client, auth, d.name, d)["content_hash"] for d in directories]
    assert len(hashes[0]) == len(hashes[1]) == 64 and hashes[0] != hashes[1]
    sizes = [{f.name: f.stat().st_size for f in fingerprint.weight_files(d)} for d in directories]
    assert sizes[0] == sizes[1]  # same names and sizes: only the contents tell them apart


def test_hash_is_computed_off_the_request_path(settings: Settings, auth_for, model_dir: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """With the hashing held back, registration answers at once without a hash; the hash is stored when done."""
    expected = WeightHasher().fingerprint(model_dir.resolve())
    release = threading.Event()
    original = WeightHasher.file_digest

    def held(self: WeightHasher, path: Path) -> str:
        assert release.wait(30), "test did not release the hashing"
        return original(self, path)

    monkeypatch.setattr(WeightHasher, "file_digest", held)
    app = create_app(settings.model_copy(update={"content_hash_wait_seconds": 0.05}))
    try:
        with TestClient(app) as client:
            headers = auth_for(app)
            response = client.post("/api/v1/models", json={"name": "slow", "path": str(model_dir)}, headers=headers)
            assert response.status_code == 201 and response.json()["content_hash"] is None
            release.set()
            deadline = time.monotonic() + 30
            stored = None
            while stored is None and time.monotonic() < deadline:
                stored = client.get(f"/api/v1/models/{response.json()['id']}").json()["content_hash"]
                time.sleep(0.05)
            assert stored == expected
    finally:
        release.set()
        app.state.engine.dispose()


def test_a_model_left_without_a_hash_gets_it_at_startup(settings: Settings, model_dir: Path) -> None:
    app = create_app(settings)
    try:
        with app.state.session_factory() as session:
            session.add(Model(name="left", path=str(model_dir.resolve()), source="local", tags=[]))
            session.commit()
        with TestClient(app) as client:
            deadline = time.monotonic() + 30
            stored = None
            while stored is None and time.monotonic() < deadline:
                stored = client.get("/api/v1/models").json()["data"][0]["content_hash"]
                time.sleep(0.05)
        assert stored == WeightHasher().fingerprint(model_dir.resolve())
    finally:
        app.state.engine.dispose()


def test_file_digests_are_cached_by_path_size_and_mtime(model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[str] = []
    original = fingerprint.hashlib.file_digest

    def counted(handle, digest):
        reads.append(handle.name)
        return original(handle, digest)

    monkeypatch.setattr(fingerprint.hashlib, "file_digest", counted)
    hasher = WeightHasher()
    first = hasher.fingerprint(model_dir)
    assert hasher.fingerprint(model_dir) == first and len(reads) == 1  # second time from the cache
    _change_one_weight(model_dir)
    stat = (model_dir / "model.safetensors").stat()
    os.utime(model_dir / "model.safetensors", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    assert hasher.fingerprint(model_dir) != first and len(reads) == 2  # a new mtime: read again
    hasher.shutdown()
