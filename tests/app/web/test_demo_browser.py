"""README command 1 for real: `cbench serve --demo` converts SmolLM2, scores it and the random-init baseline on a
sample of every benchmark in its in-process worker; headless Chromium (the shared `page` fixture) then checks the five filled leaderboard
columns, the random-init label and the compare page's p-value. With the trainer's environment (.venv-train) the same
demo also runs its short CPU training run, and the run page must show a point for every checkpoint. The SmolLM2
conversion comes from the machine's cache (CBENCH_CACHE_DIR), the sample is 2 questions per subject
(CBENCH_DEMO_LIMIT), the training run 2 steps of 128 tokens with a checkpoint after each."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.demo import BASELINE_NAME, DEMO_SUBJECTS, SMOLLM2_NAME
from app.demo_training import LOG_FILE, RUN_DESCRIPTION, RUN_NAME

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TRAIN_STEPS = 2


def wait_for_jobs(demo, expected: int, timeout: float = 1800) -> list[dict]:
    """All jobs once `expected` of them exist and every one has finished."""
    import httpx

    deadline = time.monotonic() + timeout
    jobs: list[dict] = []
    while time.monotonic() < deadline:
        assert demo.process.poll() is None, demo.log_tail()
        try:
            jobs = httpx.get(f"{demo.base}/api/v1/jobs", params={"limit": 100}, timeout=10).json()["data"]
        except (httpx.TransportError, ValueError, KeyError):
            jobs = []
        if len(jobs) >= expected and all(j["status"] in ("succeeded", "failed") for j in jobs):
            break
        assert "demo training run failed" not in demo.log_tail(), demo.log_tail()
        time.sleep(2)
    return jobs


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, serve_demo) -> Iterator[object]:
    """One `serve --demo` for the module (with its training run when the trainer's environment exists)."""
    with serve_demo(tmp_path_factory.mktemp("demo"), CBENCH_DEMO_LIMIT="2", CBENCH_DEMO_TRAIN_STEPS=str(TRAIN_STEPS),
                    CBENCH_DEMO_TRAIN_SAVE_INTERVAL="1", CBENCH_DEMO_TRAIN_MAX_LENGTH="128") as server:
        yield server


def test_demo_fills_every_benchmark_for_a_real_model(demo, page) -> None:
    import httpx

    jobs = wait_for_jobs(demo, 2 * len(DEMO_SUBJECTS))
    models = {m["name"]: m for m in httpx.get(f"{demo.base}/api/v1/models").json()["data"]}
    smol, baseline = models[SMOLLM2_NAME], models[BASELINE_NAME]
    demo_jobs = [j for j in jobs if j["model_id"] in (smol["id"], baseline["id"])]
    assert [j["error"] for j in demo_jobs if j["status"] != "succeeded"] == []
    assert len(demo_jobs) == 2 * len(DEMO_SUBJECTS)
    assert smol["status"] == "ready" and "random-init" in baseline["tags"]

    page.goto(demo.base + "/")
    for name in (SMOLLM2_NAME, BASELINE_NAME):
        row = page.locator("#leaderboard tbody tr", has_text=name)
        filled = row.locator("td.score").evaluate_all("cells => cells.map(c => c.dataset.col)")
        assert sorted(filled) == sorted(DEMO_SUBJECTS), (name, filled)
    assert page.locator("#leaderboard tbody tr", has_text=BASELINE_NAME).locator(
        "span.tag", has_text="random-init").count() == 1
    page.goto(demo.base + f"/compare?a={smol['id']}&b={baseline['id']}")
    p_value = page.locator("#compare-benchmarks tbody tr", has_text="mmlu").first.locator("td.p-value")
    assert 0.0 <= float(p_value.inner_text()) <= 1.0


def test_demo_training_run_page_has_a_point_per_checkpoint(trainer_python: Path, demo, page) -> None:
    import httpx

    jobs = wait_for_jobs(demo, 2 * len(DEMO_SUBJECTS) + TRAIN_STEPS)
    checkpoints = {m["id"]: m for m in httpx.get(f"{demo.base}/api/v1/models", params={"run": RUN_NAME}).json()["data"]}
    train_log = demo.log.parent / "demo-train" / LOG_FILE
    assert sorted(m["step"] for m in checkpoints.values()) == list(range(1, TRAIN_STEPS + 1)), train_log.read_text()
    assert all("continued-pretraining" in m["tags"] and m["description"] == RUN_DESCRIPTION
               for m in checkpoints.values())
    scored = [j for j in jobs if j["model_id"] in checkpoints]
    assert [(j["benchmark"], j["status"], j["error"]) for j in scored] == [("mmlu", "succeeded", None)] * TRAIN_STEPS

    page.goto(demo.base + f"/runs/{RUN_NAME}")
    points = page.locator("svg.line-chart circle.point[data-benchmark='mmlu']")
    assert points.count() == TRAIN_STEPS
    titles = points.evaluate_all("cells => cells.map(c => c.textContent)")
    assert sorted(t.split(" (mmlu)")[0] for t in titles) == sorted(m["name"] for m in checkpoints.values())
    assert page.locator("p.run-description").inner_text() == RUN_DESCRIPTION
    assert page.locator("p.notice").count() == 0
