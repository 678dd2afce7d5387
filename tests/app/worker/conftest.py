"""Real `cbench` processes for the worker tests: settings whose model roots hold the tiny LLaMA, and a spawner
that starts `python -m cbench.main ...` on that database (log per process in tmp_path) and kills what is left."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from app.core.config import Settings

REPO_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def worker_settings(settings: Settings, tiny_model_dir: Path) -> Settings:
    return settings.model_copy(update={"model_roots": f"{settings.model_roots}:{tiny_model_dir.parent}"})


def process_env(settings: Settings, **overrides: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": settings.database_url, "CBENCH_DATA_DIR": str(settings.data_dir),
            "CBENCH_MODEL_ROOTS": settings.model_roots, "CBENCH_WORKER_DEVICE": "cpu",
            "CBENCH_WORKER_LEASE_SECONDS": "30", "CBENCH_WORKER_CHUNK_SIZE": "1", "OMP_NUM_THREADS": "1",
            "HF_HUB_OFFLINE": "1", "CBENCH_LOG_FORMAT": "json", "PYTHONPATH": str(REPO_ROOT), **overrides}


@pytest.fixture
def spawn_cbench(worker_settings: Settings, tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen]]:
    """`spawn_cbench("worker", "--poll-interval", "0.2", CBENCH_WORKER_LEASE_SECONDS="3")`: args, then env."""
    processes: list[subprocess.Popen] = []

    def start(*args: str, **env: str) -> subprocess.Popen:
        log = open(tmp_path / f"process-{len(processes)}.log", "w")
        process = subprocess.Popen([sys.executable, "-m", "cbench.main", *args], cwd=tmp_path,
                                   env=process_env(worker_settings, **env), stdout=log, stderr=subprocess.STDOUT)
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
        process.wait()


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 300) -> None:
    """Poll `condition` every 50 ms; AssertionError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def wait_for() -> Callable[..., None]:
    """`wait_for(lambda: ..., "what", timeout=300)`: `wait_until` as a fixture, for test modules."""
    return wait_until
