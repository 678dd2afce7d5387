"""README command 1 for real: `cbench serve --demo` converts SmolLM2, scores it and the random-init baseline on a
sample of every benchmark in its in-process worker; headless Chromium (the shared `page` fixture) then checks the
five filled leaderboard columns, the random-init label and the compare page's p-value. The SmolLM2 conversion comes
from the machine's cache (CBENCH_CACHE_DIR), the sample is 2 questions per subject (CBENCH_DEMO_LIMIT)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from app.demo import BASELINE_NAME, DEMO_SUBJECTS, SMOLLM2_NAME

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO_ROOT = Path(__file__).resolve().parents[3]


def test_demo_fills_every_benchmark_for_a_real_model(tmp_path: Path, data_dir: Path, smollm2_dir: Path,
                                                     page) -> None:
    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "DATABASE_URL": f"sqlite:///{tmp_path / 'cbench.db'}",
           "CBENCH_DATA_DIR": str(data_dir), "CBENCH_MODEL_ROOTS": str(tmp_path / "models"),
           "CBENCH_CACHE_DIR": str(smollm2_dir.parent.parent), "CBENCH_DEMO_LIMIT": "2",
           "CBENCH_LEADERBOARD_CACHE_SECONDS": "0", "CBENCH_WORKER_POLL_INTERVAL": "0.2", "HF_HUB_OFFLINE": "1"}
    server = subprocess.Popen([sys.executable, "-m", "cbench.main", "serve", "--demo", "--port", str(port)],
                              cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        expected_jobs = 2 * len(DEMO_SUBJECTS)
        deadline = time.monotonic() + 1800
        jobs: list[dict] = []
        while time.monotonic() < deadline:
            assert server.poll() is None, server.stderr.read()[-3000:]
            try:
                jobs = httpx.get(f"{base}/api/v1/jobs", timeout=10).json()["data"]
            except (httpx.TransportError, ValueError, KeyError):
                jobs = []
            if len(jobs) == expected_jobs and all(j["status"] in ("succeeded", "failed") for j in jobs):
                break
            time.sleep(2)
        assert [j["error"] for j in jobs if j["status"] != "succeeded"] == []
        assert len(jobs) == expected_jobs
        models = {m["name"]: m for m in httpx.get(f"{base}/api/v1/models").json()["data"]}
        smol, baseline = models[SMOLLM2_NAME], models[BASELINE_NAME]
        assert smol["status"] == "ready" and "random-init" in baseline["tags"]

        page.goto(base + "/")
        for name in (SMOLLM2_NAME, BASELINE_NAME):
            row = page.locator("#leaderboard tbody tr", has_text=name)
            filled = row.locator("td.score").evaluate_all("cells => cells.map(c => c.dataset.col)")
            assert sorted(filled) == sorted(DEMO_SUBJECTS), (name, filled)
        assert page.locator("#leaderboard tbody tr", has_text=BASELINE_NAME).locator(
            "span.tag", has_text="random-init").count() == 1
        page.goto(base + f"/compare?a={smol['id']}&b={baseline['id']}")
        p_value = page.locator("#compare-benchmarks tbody tr", has_text="mmlu").first.locator("td.p-value")
        assert 0.0 <= float(p_value.inner_text()) <= 1.0
    finally:
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
