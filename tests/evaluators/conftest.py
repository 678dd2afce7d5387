"""Fixtures for engine tests: a tiny random LLaMA with the real LLaMA-2 tokenizer, built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def llama2_tokenizer_dir(data_dir: Path) -> Path:
    return data_dir / "tokenizers" / "llama2"


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory, llama2_tokenizer_dir: Path) -> Path:
    pytest.importorskip("torch")
    from evaluators.tiny_model import build_tiny_llama

    return build_tiny_llama(tmp_path_factory.mktemp("tiny-llama"), llama2_tokenizer_dir, seed=1234)


@pytest.fixture(scope="session")
def hf_backend(tiny_model: Path):
    from evaluators.backends import load_backend
    from evaluators.backends.base import BackendOptions

    return load_backend("hf", BackendOptions(model_path=str(tiny_model), device="cpu"))
