"""Shared pytest fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real benchmark files: $CBENCH_DATA_DIR, else <repo>/../shared/data."""
    path = Path(os.environ.get("CBENCH_DATA_DIR") or REPO_ROOT.parent / "shared" / "data")
    if not path.is_dir():
        pytest.skip(f"benchmark data not found at {path}")
    return path
