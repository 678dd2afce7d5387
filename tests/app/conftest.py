"""Fixtures for the service tests: settings on a fresh database (SQLite and Postgres, see `db_url`), the app and
its client, a write token, a torch-free model directory and (for worker tests) a real tiny random LLaMA."""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.core.config import Settings
from app.main import create_app
from app.queries.tokens import create_token


@pytest.fixture
def model_root(tmp_path: Path) -> Path:
    root = tmp_path / "models"
    root.mkdir()
    return root


@pytest.fixture
def settings(db_url: str, data_dir: Path, model_root: Path) -> Settings:
    return Settings(_env_file=None, database_url=db_url, data_dir=data_dir, model_roots=str(model_root),
                    worker_lease_seconds=30, worker_poll_interval=0.1, worker_max_attempts=3, worker_device="cpu")


@pytest.fixture
def app(settings: Settings) -> Iterator[FastAPI]:
    application = create_app(settings)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def session_factory(app: FastAPI):
    return app.state.session_factory


@pytest.fixture
def auth(session_factory) -> dict[str, str]:
    with session_factory() as session:
        _row, token = create_token(session, "tests")
        session.commit()
    return {"Authorization": f"Bearer {token}"}


def write_model_dir(directory: Path, *, params: tuple[int, int] = (2, 3)) -> Path:
    """A minimal Hugging Face model directory without torch: config.json, tokenizer files, one safetensors file."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps({"model_type": "llama", "torch_dtype": "float32"}))
    (directory / "tokenizer_config.json").write_text(json.dumps({"tokenizer_class": "LlamaTokenizer"}))
    (directory / "tokenizer.model").write_bytes(b"not a real sentencepiece model")
    rows, cols = params
    header = json.dumps({"w": {"dtype": "F32", "shape": [rows, cols], "data_offsets": [0, 4 * rows * cols]}}).encode()
    (directory / "model.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + bytes(4 * rows * cols))
    return directory


@pytest.fixture
def make_model_dir():
    """The `write_model_dir` helper, for tests that need more than one model directory."""
    return write_model_dir


@pytest.fixture
def model_dir(model_root: Path) -> Path:
    return write_model_dir(model_root / "m1")


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    """A real random-init LLaMA (2 layers, width 64) with the LLaMA-2 tokenizer; built once per session."""
    from evaluators.tiny_model import build_tiny_llama

    return build_tiny_llama(tmp_path_factory.mktemp("tiny") / "tiny-llama", data_dir / "tokenizers" / "llama2", seed=0)
