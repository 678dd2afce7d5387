"""The pages researchers look at first, in real headless Chromium against uvicorn on a seeded SQLite file:
leaderboard intervals, chart, chance levels, natural sort and the unscored toggle; job page questions, shared
few-shot block, probabilities, pager and progress bar; compare job pickers, forest plot and question links; queue
history, time estimates, local times and cancelling with a stored token; run page question sets; a Chinese question
rendered with a CJK font (checked in a screenshot); and /docs and /redoc with every request to the internet refused.
"""

from __future__ import annotations

import hashlib
import math
import re
import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from app.core.config import Settings
from app.db.base import utcnow
from app.db.migrate import upgrade
from app.db.models import Job, Model
from app.main import create_app
from app.queries.tokens import create_token
from evaluators.records import Prediction

from .conftest import SHOTS, add_succeeded_job, leaderboard_names, seed, shot, store_succeeded_job

pytestmark = pytest.mark.browser

ZH_STEM = "水稻属于哪一科？"
ZH_SHOTS = "以下是中国关于农学考试的单项选择题，请选出其中的正确答案。\n\n题目：小麦属于哪一科？\nA. 禾本科\nB. 豆科\nC. 菊科\nD. 茄科\n答案：A\n\n"
FIXED_CREATED = datetime(2026, 1, 1, 0, 0, 0)


def _zh_predictions() -> list[Prediction]:
    items = [(ZH_STEM, ("禾本科", "豆科", "菊科", "茄科"), "A", "A"),
             ("大豆属于哪一科？", ("禾本科", "豆科", "菊科", "茄科"), "B", "C")]
    out = []
    for index, (stem, options, gold, pred) in enumerate(items):
        prompt = ZH_SHOTS + f"题目：{stem}\n" + "".join(f"{k}. {o}\n" for k, o in zip("ABCD", options, strict=True)) + "答案："
        scores = {k: (1.5 if k == pred else -0.5 - i * 0.5) for i, k in enumerate("ABCD")}
        out.append(Prediction(question_id=f"agronomy/{index}", subject="agronomy", gold=gold, pred=pred, scores=scores,
                              correct=gold == pred, prompt_sha256=hashlib.sha256(prompt.encode()).hexdigest(),
                              prompt=prompt))
    return out


class Extra:
    zh_job: int
    second_alpha_mmlu: int
    unscored: str = "never-scored-model"
    history_job: int
    eta_job: int
    cancel_job: int
    token: str


@pytest.fixture(scope="module")
def server(serve_app, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, object, Extra, str]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('browser15') / 'cbench.db'}"
    upgrade(url)
    app = create_app(Settings(_env_file=None, database_url=url, leaderboard_cache_seconds=0))
    extra = Extra()
    with app.state.session_factory() as session:
        seeded = seed(session)
        for name in ("step-10", "step-2", "step-1"):
            row = Model(name=name, path=f"/models/{name}", source="local", tags=["steps"])
            session.add(row)
            session.flush()
            add_succeeded_job(session, row.id, name, "mmlu", 0.5)
        session.add(Model(name=extra.unscored, path="/models/none", source="local", tags=[]))
        zh = Model(name="zh-model", path="/models/zh", source="local", tags=["zh"])
        session.add(zh)
        session.flush()
        zh_predictions = _zh_predictions()
        extra.zh_job = store_succeeded_job(session, zh.id, "cmmlu", zh_predictions, expected_n=len(zh_predictions),
                                           subject_names={"agronomy": "agronomy"},
                                           record={"template": "colossaleval"})
        alpha = seeded.models["alpha-7b"]
        extra.second_alpha_mmlu = add_succeeded_job(session, alpha, "alpha-7b-rerun", "mmlu", 0.45)
        # run-y: one checkpoint on all three MMLU subjects, two on one subject (another question set)
        for step, subjects in ((100, ("abstract_algebra", "anatomy", "astronomy")), (200, ("anatomy",)),
                               (300, ("anatomy",))):
            row = Model(name=f"y-{step}", path=f"/models/y-{step}", source="local", training_run="run-y", step=step)
            session.add(row)
            session.flush()
            add_succeeded_job(session, row.id, f"y-{step}", "mmlu", 0.4 + step / 1000, subjects=subjects)
        now = utcnow()
        history = Job(model_id=alpha, benchmark="ceval", template="colossaleval", config={}, status="cancelled",
                      progress_done=3, progress_total=10, attempts=1, started_at=now - timedelta(seconds=200),
                      finished_at=now - timedelta(seconds=135), created_at=FIXED_CREATED)
        running = Job(model_id=alpha, benchmark="ceval", template="colossaleval", config={}, status="running",
                      progress_done=10, progress_total=40, attempts=1, started_at=now - timedelta(seconds=100),
                      lease_owner="w", lease_expires_at=now + timedelta(hours=1))
        queued = Job(model_id=alpha, benchmark="ceval", template="colossaleval", config={}, status="queued")
        session.add_all([history, running, queued])
        session.flush()
        extra.history_job, extra.eta_job, extra.cancel_job = history.id, running.id, queued.id
        _row, extra.token = create_token(session, "browser")
        session.commit()
    with serve_app(app) as base_url:
        yield base_url, seeded, extra, url
    app.state.engine.dispose()


def test_leaderboard_intervals_chart_chance_and_unscored_toggle(server, page) -> None:
    base, _seeded, extra, _url = server
    page.goto(base + "/?cols=mmlu,cmmlu")
    shot(page, "leaderboard-intervals")
    alpha = page.locator("#leaderboard tbody tr", has_text="alpha-7b").locator('td[data-col="mmlu"]')
    low, high = (float(alpha.locator(".pm").get_attribute(k)) for k in ("data-low", "data-high"))
    assert alpha.locator(".pm").inner_text() == f"±{(high - low) / 2:.1f}"  # visible without hovering
    assert page.locator('th .chance-level[data-col="mmlu"]').inner_text() == "chance 25"
    rows = min(12, len(leaderboard_names(page)))
    scored_cells = page.locator('#leaderboard tbody tr:nth-child(-n+12) td.score').count()
    assert rows > 0 and page.locator("#board-chart circle.mark").count() == scored_cells
    assert page.locator("#board-chart line.chance").count() == 2  # one per shown benchmark
    assert extra.unscored not in leaderboard_names(page)
    assert "1 model(s) never scored" in page.locator("#unscored-note").inner_text()
    page.locator("#show-unscored").check()
    page.wait_for_url("**unscored=1**")
    assert extra.unscored in leaderboard_names(page)


def test_leaderboard_sorts_names_naturally(server, page) -> None:
    base, *_ = server
    page.goto(base + "/?q=^step-&sort=name")
    assert leaderboard_names(page) == ["step-1", "step-2", "step-10"]  # server side
    page.goto(base + "/?q=^step-")
    page.locator('#leaderboard th[data-col="name"]').click()  # client side
    assert leaderboard_names(page) == ["step-1", "step-2", "step-10"]


def test_chinese_question_renders_with_a_cjk_font(server, page) -> None:
    fonts = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, check=False).stdout
    assert "CJK" in fonts, "no CJK font installed (Debian: apt-get install fonts-noto-cjk)"
    base, _seeded, extra, _url = server
    page.goto(base + f"/jobs/{extra.zh_job}")
    question = page.locator("li.prediction .question").first
    assert ZH_STEM in question.inner_text()
    SHOTS.mkdir(parents=True, exist_ok=True)
    question.screenshot(path=str(SHOTS / "job-cjk-question.png"))
    shot(page, "job-cjk")
    cdp = page.context.new_cdp_session(page)
    cdp.send("DOM.enable")
    cdp.send("CSS.enable")
    root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
    node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": "li.prediction .question"})["nodeId"]
    used = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    assert any("CJK" in f["familyName"] and f["glyphCount"] > 0 for f in used), used
    # tofu boxes all look alike: two different characters must give two different pictures, neither blank
    page.evaluate("""() => { const q = document.querySelector('li.prediction .question');
        for (const [id, ch] of [['g1', '水'], ['g2', '稻']]) { const s = document.createElement('span');
          s.id = id; s.textContent = ch; s.style.fontSize = '40px'; q.appendChild(s); } }""")
    first, second = page.locator("#g1").screenshot(), page.locator("#g2").screenshot()
    blank = page.evaluate("() => { const s = document.createElement('span'); s.id = 'g0'; s.textContent = '\\u3000';"
                          " s.style.fontSize = '40px'; document.querySelector('li.prediction .question').appendChild(s);"
                          " return true; }")
    assert blank and first != second and first != page.locator("#g0").screenshot()


def test_job_page_shows_the_question_once_and_probabilities(server, page) -> None:
    base, _seeded, extra, _url = server
    page.goto(base + f"/jobs/{extra.zh_job}")
    assert page.locator("details.shared-prefix").count() == 1  # the few-shot block, once for the subject
    assert "小麦属于哪一科" in page.locator("details.shared-prefix pre").text_content()
    first = page.locator("li.prediction").first
    assert "小麦" not in first.locator(".question").inner_text()  # not repeated inside the question
    options = first.locator(".question-options li")
    assert options.count() == 4 and options.nth(0).inner_text().startswith("禾本科")
    assert "gold" in options.nth(0).get_attribute("class") and "pred" in options.nth(0).get_attribute("class")
    scores = {"A": 1.5, "B": -1.0, "C": -1.5, "D": -2.0}
    total = sum(math.exp(v) for v in scores.values())
    shown = first.locator("tr.probabilities td")
    for letter, value in scores.items():
        cell = first.locator(f'tr.probabilities td[data-letter="{letter}"]')
        assert float(cell.inner_text()) == pytest.approx(math.exp(value) / total, abs=1e-3)
    assert shown.count() == 4


def test_job_page_numbers_and_jump(server, page) -> None:
    base, seeded, _extra, _url = server
    job = seeded.jobs[("alpha-7b", "mmlu")]
    page.goto(base + f"/jobs/{job}?per_page=2")  # 36 questions: 18 pages
    pager = page.locator("nav.pager").first
    assert pager.locator("strong[aria-current=page]").inner_text() == "1"
    assert pager.locator("a.page-link", has_text=re.compile(r"^18$")).count() == 1
    pager.locator('input[name="page"]').fill("9")
    pager.locator("form.jump button").click()
    page.wait_for_url("**page=9**")
    assert "per_page=2" in page.url
    assert page.locator("nav.pager").first.locator("strong[aria-current=page]").inner_text() == "9"
    assert page.locator("ol.predictions").get_attribute("start") == "17"


def test_failed_job_bar_is_not_full(server, page) -> None:
    base, seeded, _extra, _url = server
    page.goto(base + f"/jobs/{seeded.failed}")
    bar = page.locator("#progress")
    assert float(bar.get_attribute("value")) < float(bar.get_attribute("max"))


def test_compare_picks_jobs_draws_a_forest_and_links_questions(server, page) -> None:
    base, seeded, extra, _url = server
    a, b = seeded.models["alpha-7b"], seeded.models["beta-7b"]
    page.goto(base + f"/compare?a={a}&b={b}")
    row = page.locator("#compare-benchmarks tbody tr", has_text="mmlu").first
    assert f"A #{extra.second_alpha_mmlu}" in row.inner_text()  # the newest by default
    older = seeded.jobs[("alpha-7b", "mmlu")]
    page.locator('select[name="job_a"][data-benchmark="mmlu"]').select_option(str(older))
    page.locator("#job-picker button").click()
    page.wait_for_url(f"**job_a={older}**")
    row = page.locator("#compare-benchmarks tbody tr", has_text="mmlu").first
    assert f"A #{older}" in row.inner_text()
    subjects = 3 + 2 + 1  # mmlu, cmmlu, agieval subjects shared by both models
    assert page.locator("#forest-plot circle.diff-point").count() == subjects
    assert page.locator("#forest-plot line.ci").count() == subjects
    shot(page, "compare-forest")
    link = page.locator("#disagreements a.question-link").first
    qid = link.inner_text()
    link.click()
    page.wait_for_url("**question=**")
    assert page.locator("li.prediction").count() == 1
    assert page.locator("li.prediction code.qid").inner_text() == qid


def _seconds(text: str) -> int:
    parts = dict((unit, int(value)) for value, unit in re.findall(r"(\d+)([hms])", text))
    return parts.get("h", 0) * 3600 + parts.get("m", 0) * 60 + parts.get("s", 0)


def test_queue_history_estimates_local_time_and_cancel(server, browser) -> None:
    base, _seeded, extra, url = server
    context = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id="Asia/Shanghai",
                                  locale="en-US")
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.goto(base + "/queue")
    history = tab.locator(f'table[data-kind="history"] tr[data-job-id="{extra.history_job}"]')
    assert history.locator("td.duration").inner_text() == "1m 05s"
    created = history.locator("time.local-time").first
    assert created.get_attribute("data-localized") == "true"
    assert "08:00:00" in created.inner_text() and "GMT+8" in created.inner_text()  # 00:00 UTC in Shanghai
    running = tab.locator(f'table[data-kind="running"] tr[data-job-id="{extra.eta_job}"]')
    elapsed, left = _seconds(running.locator("td.elapsed").inner_text()), _seconds(running.locator("td.remaining").inner_text())
    assert abs(left - 3 * elapsed) <= 3  # 10 of 40 done: three times the elapsed time left
    cancel = tab.locator(f'button.cancel-job[data-job-id="{extra.cancel_job}"]')
    assert cancel.is_hidden()  # not signed in
    tab.locator("#token-input").fill("cbt_wrong_token")
    tab.locator("#token-form button[type=submit]").click()
    cancel.click()
    tab.wait_for_function("document.getElementById('cancel-message').textContent.includes('invalid')")
    tab.locator("#sign-out").click()
    tab.locator("#token-input").fill(extra.token)
    tab.locator("#token-form button[type=submit]").click()
    assert extra.token not in tab.url
    assert tab.evaluate("() => localStorage.getItem('cbench.apiToken')") == extra.token
    tab.reload()  # entered once: still signed in after a reload
    tab.locator(f'button.cancel-job[data-job-id="{extra.cancel_job}"]').click()
    tab.wait_for_function("document.getElementById('cancel-message').textContent.includes('cancelled')")
    shot(tab, "queue-history")
    from sqlalchemy import create_engine

    engine = create_engine(url)
    with engine.connect() as connection:
        assert connection.execute(select(Job.status).where(Job.id == extra.cancel_job)).scalar() == "cancelled"
    engine.dispose()
    context.close()
    assert not errors, errors


def test_run_page_keeps_question_sets_apart(server, page) -> None:
    base, *_ = server
    page.goto(base + "/runs/run-y")
    groups = page.locator("svg.line-chart g.series")
    assert groups.count() == 2  # 36 questions (one checkpoint) and 12 questions (two checkpoints)
    counts = sorted(groups.nth(i).locator("circle.point").count() for i in range(2))
    assert counts == [1, 2]
    assert page.locator("svg.line-chart circle.point.best").count() == 2  # one best per question set
    assert page.locator("svg.line-chart line.chance").count() == 1
    assert page.locator("th.series-head").count() == 2
    shot(page, "run-question-sets")


@pytest.mark.parametrize("path, ready", [("/docs", ".swagger-ui .info .title"), ("/redoc", "h1")])
def test_api_docs_work_offline(server, page, path: str, ready: str) -> None:
    base, *_ = server
    outside: list[str] = []

    def only_local(route) -> None:
        if route.request.url.startswith(base):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    page.goto(base + path)
    page.wait_for_selector(ready, timeout=20000)
    assert "colossal-bench" in page.locator(ready).first.inner_text()
    assert not outside, f"{path} asked the internet for {outside}"
    shot(page, f"api-docs{path.replace('/', '-')}")
