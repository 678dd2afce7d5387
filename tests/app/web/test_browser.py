"""The pages in real headless Chromium against uvicorn on a migrated, seeded SQLite file; screenshots of every
page go to artifacts/screenshots/."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.core.config import Settings
from app.db.migrate import upgrade
from app.main import create_app
from evaluators.paired_stats import mcnemar_exact, paired_counts

from .conftest import XSS_NAME, Seeded, leaderboard_names, make_predictions, seed, shot

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(serve_app, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Seeded, str]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'cbench.db'}"
    upgrade(url)
    app = create_app(Settings(_env_file=None, database_url=url, leaderboard_cache_seconds=0))
    with app.state.session_factory() as session:
        seeded = seed(session)
    with serve_app(app) as base_url:
        yield base_url, seeded, url
    app.state.engine.dispose()


def test_leaderboard_sorts_by_clicking_a_header(server, page) -> None:
    base, _seeded, _url = server
    page.goto(base + "/")
    shot(page, "leaderboard")
    before = leaderboard_names(page)
    page.locator('#leaderboard th[data-col="cmmlu"]').click()
    descending = leaderboard_names(page)
    assert descending != before
    assert descending[0] == "alpha-7b"  # highest cmmlu score
    assert "sort=-cmmlu" in page.url
    assert "sort=-cmmlu" in page.locator("#export-csv").get_attribute("href")
    page.locator('#leaderboard th[data-col="cmmlu"]').click()
    ascending = leaderboard_names(page)
    assert "sort=cmmlu" in page.url
    assert ascending != descending and ascending[0] != "alpha-7b"
    page.goto(base + "/?sort=name")  # server-side sort from the URL
    assert leaderboard_names(page) == sorted(leaderboard_names(page), key=str.lower)


def test_leaderboard_filters_and_partial_label(server, page) -> None:
    base, _seeded, _url = server
    page.goto(base + "/?q=ckpt")
    assert all(n.startswith("ckpt-") for n in leaderboard_names(page)) and len(leaderboard_names(page)) == 4
    page.goto(base + "/")
    assert page.locator("#leaderboard td.partial .badge").first.inner_text() == "partial"
    page.locator('input[name="metric"][value="macro"]').check()
    page.wait_for_url("**metric=macro**")
    shot(page, "leaderboard-macro")


def test_xss_model_name_renders_as_text(server, page) -> None:
    base, seeded, _url = server
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(base + "/")
    assert XSS_NAME in leaderboard_names(page)
    page.goto(base + f"/models/{seeded.models[XSS_NAME]}")
    assert page.locator("#model-name").inner_text() == XSS_NAME
    assert page.locator("script:not([src])").count() == 0
    shot(page, "model-xss")
    assert not dialogs


def test_drill_down_reaches_a_question_prompt(server, page) -> None:
    base, _seeded, _url = server
    page.goto(base + "/")
    page.locator("#leaderboard tbody tr", has_text="alpha-7b").locator("td.name a").click()
    page.wait_for_url("**/models/*")
    assert page.locator("svg.bar-chart rect.bar").count() == 3
    shot(page, "model")
    page.locator("svg.bar-chart a").first.click()
    page.wait_for_url("**/jobs/*")
    page.locator('select[name="subject"]').select_option("anatomy")
    page.locator('select[name="result"]').select_option("wrong")
    page.locator("form.filters button").click()
    page.wait_for_url("**subject=anatomy**")
    first = page.locator("li.prediction").first
    assert "wrong" in first.get_attribute("class")
    if not first.locator("details.prompt").evaluate("d => d.open"):
        first.locator("details.prompt summary").click()
    prompt = first.locator("pre.prompt-text").inner_text()
    assert "Question" in prompt and "<b>what</b> & why?" in prompt and "anatomy" in prompt
    shot(page, "job")


def test_job_page_updates_live_while_running(server, page) -> None:
    base, seeded, url = server
    page.goto(base + f"/jobs/{seeded.running}")
    assert page.locator("#status").inner_text() == "running"
    from sqlalchemy import create_engine, update

    from app.db.models import Job

    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(update(Job).where(Job.id == seeded.running)
                           .values(status="failed", progress_done=9, error="worker lost <lease>"))
    engine.dispose()
    page.wait_for_function("document.getElementById('status').textContent === 'failed'", timeout=10000)
    assert page.locator("#error").inner_text() == "worker lost <lease>"
    assert page.locator("#progress-text").inner_text() == "9 / 40"
    shot(page, "job-live")


def test_run_page_draws_one_point_per_checkpoint(server, page) -> None:
    base, seeded, _url = server
    page.goto(base + "/runs/run-x")
    checkpoints = len(seeded.run_checkpoints)
    for benchmark in ("mmlu", "cmmlu"):
        assert page.locator(f'svg.line-chart circle.point[data-benchmark="{benchmark}"]').count() == checkpoints
        assert page.locator(f'svg.line-chart circle.point.best[data-benchmark="{benchmark}"]').count() == 1
    assert page.locator("svg.line-chart path.band").count() == 2
    assert page.locator("table.heatmap").first.locator("tbody tr").count() == 3  # mmlu subjects
    shot(page, "run")
    page.goto(base + "/runs/run-x?x=tokens")
    assert page.locator("svg.line-chart .axis-label").text_content() == "tokens seen"


def test_compare_page_shows_mcnemar_p_value(server, page) -> None:
    base, seeded, _url = server
    a, b = seeded.models["alpha-7b"], seeded.models["beta-7b"]
    page.goto(base + f"/compare?a={a}&b={b}")
    row = page.locator("#compare-benchmarks tbody tr", has_text="mmlu").first
    shown = float(row.locator("td.p-value").inner_text())
    subjects = ("abstract_algebra", "anatomy", "astronomy")
    counts = paired_counts([p.correct for p in make_predictions("alpha-7b", "mmlu", 0.8, subjects)],
                           [p.correct for p in make_predictions("beta-7b", "mmlu", 0.35, subjects)])
    assert shown == pytest.approx(mcnemar_exact(counts.only_a, counts.only_b), rel=1e-3)
    assert page.locator("#disagreements tbody tr").count() > 0
    shot(page, "compare")


def test_queue_page_lists_failure_reasons(server, page) -> None:
    base, _seeded, _url = server
    page.goto(base + "/queue")
    assert page.get_by_text("CUDA out of memory <oom> at layer 3").count() == 1
    shot(page, "queue")
