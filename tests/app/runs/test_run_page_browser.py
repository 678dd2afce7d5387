"""The run page in real headless Chromium: verdict markers on the curve, the verdict table and the signal/noise
table; the job page and the leaderboard show a running job's early estimate as "estimate, n of N"."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.config import Settings
from app.db.migrate import upgrade
from app.db.models import Job
from app.main import create_app

from .conftest import add_checkpoint, finish_constructed_job

pytestmark = pytest.mark.browser


ESTIMATE = {"acc": 47.5, "stderr": 2.0, "ci_low": 43.58, "ci_high": 51.42, "n": 1_412, "population": 14_042,
            "subjects": 57, "metric": "first_token"}


@pytest.fixture(scope="module")
def server(serve_app, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('run-browser') / 'cbench.db'}"
    upgrade(url)
    app = create_app(Settings(_env_file=None, database_url=url, leaderboard_cache_seconds=0))
    factory = app.state.session_factory
    with factory() as session:
        steps = [add_checkpoint(session, "cpt", step) for step in (100, 200, 300, 400)]
        session.commit()
    for model_id, mmlu, cmmlu in zip(steps, (range(60), range(80), range(50), range(52)),
                                     (range(40), range(42), range(41), range(43)), strict=True):
        finish_constructed_job(factory, model_id, "mmlu", mmlu, 100)
        finish_constructed_job(factory, model_id, "cmmlu", cmmlu, 100)
    with factory() as session:  # a running job of a fifth checkpoint that has published its early estimate
        running_model = add_checkpoint(session, "cpt", 500)
        job = Job(model_id=running_model, benchmark="mmlu", template="colossaleval", config={}, status="running",
                  lease_owner="w", attempts=1, progress_done=1_500, progress_total=14_042, estimate=ESTIMATE)
        session.add(job)
        session.commit()
        running_job = job.id
    with serve_app(app) as base_url:
        yield base_url, running_job
    app.state.engine.dispose()


def test_run_page_shows_verdict_markers_and_signal_noise(server, page) -> None:
    base, _job = server
    page.goto(base + "/runs/cpt")
    regressed = page.locator('svg.line-chart text.verdict-marker[data-verdict="regressed"]')
    improved = page.locator('svg.line-chart text.verdict-marker[data-verdict="improved"]')
    assert regressed.count() == 1 and improved.count() == 1  # mmlu: step 200 up 20 points, step 300 down 30
    assert regressed.first.get_attribute("data-benchmark") == "mmlu"
    assert regressed.first.is_visible() and regressed.first.text_content().startswith("▼")
    assert "vs step 200: -30.00 points" in regressed.first.locator("title").text_content()
    rows = page.locator("#verdict-table tr.verdict-regressed")
    assert rows.count() == 3  # mmlu: step 300 against previous and best (step 200), step 400 against best
    assert page.locator('#verdict-table tr[data-benchmark="cmmlu"].verdict-no-significant-change').count() == 6
    table = page.locator("#signal-noise-table")
    assert table.is_visible()
    mmlu = table.locator('tr[data-benchmark="mmlu"]')
    assert mmlu.locator("td.snr").inner_text() != "—"
    assert "models differ by" in mmlu.inner_text()
    assert "Signal is how far apart" in page.locator("#signal-noise-meaning").inner_text()
    shots = Path(__file__).resolve().parents[3] / "artifacts" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "run-verdicts.png"), full_page=True)


def test_running_estimate_on_the_job_page_and_the_leaderboard(server, page) -> None:
    base, job_id = server
    page.goto(base + f"/jobs/{job_id}")
    estimate = page.locator("#estimate")
    assert estimate.is_visible()
    assert "47.50%" in estimate.inner_text() and "estimate, 1,412 of 14,042" in estimate.inner_text()
    page.goto(base + "/?run=cpt")
    cell = page.locator("#leaderboard td.estimate")
    assert cell.count() == 1 and "estimate, 1,412 of 14,042" in cell.inner_text() and "~47.5" in cell.inner_text()
