"""Clean-subset scores in real headless Chromium: the model page's table and the leaderboard's "clean" switch."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.config import Settings
from app.db.migrate import upgrade
from app.db.models import Model
from app.main import create_app
from app.queries import contamination as queries
from contamination.check import check_questions, load_benchmark
from contamination.index import BuildOptions, IndexReader, build_index

from .conftest import add_succeeded_job, make_predictions

pytestmark = pytest.mark.browser


SUBJECTS = ("abstract_algebra", "anatomy", "astronomy")
PLANTED = ("anatomy/0", "anatomy/1", "anatomy/2", "astronomy/3")


@pytest.fixture(scope="module")
def server(serve_app, tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Iterator[tuple[str, int, float]]:
    root = tmp_path_factory.mktemp("contamination-browser")
    url = f"sqlite:///{root / 'cbench.db'}"
    upgrade(url)
    app = create_app(Settings(_env_file=None, database_url=url, leaderboard_cache_seconds=0))
    _split, questions = load_benchmark("mmlu", str(data_dir), subjects=list(SUBJECTS))
    by_id = {q.id: q for items in questions.values() for q in items}
    corpus = root / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"text": by_id[q].question + " " + " ".join(by_id[q].options)}) + "\n"
                              for q in PLANTED))
    manifest = build_index([corpus], root / "index", BuildOptions(memory_mb=4))
    scored = {s: items[:12] for s, items in questions.items()}  # the 12 questions per subject the seed predicts
    result = check_questions(IndexReader(root / "index"), "mmlu", "test", scored)
    assert set(result.flagged) == set(PLANTED)
    with app.state.session_factory() as session:
        model = Model(name="cpt@step-1", path="/models/cpt", source="local", tags=[], training_run="cpt", step=1,
                      contamination_index=manifest["id"])
        session.add(model)
        session.flush()
        add_succeeded_job(session, model.id, "cpt@step-1", "mmlu", 0.5, subjects=SUBJECTS)
        queries.store_check(session, queries.upsert_index(session, manifest, str(root / "index")), result, {})
        session.commit()
        model_id = model.id
    outcomes = {p.question_id: p.correct for p in make_predictions("cpt@step-1", "mmlu", 0.5, SUBJECTS)}
    clean = [v for q, v in outcomes.items() if q not in PLANTED]
    with serve_app(app) as base_url:
        yield base_url, model_id, 100 * sum(clean) / len(clean)
    app.state.engine.dispose()


def test_model_page_shows_overlapping_and_clean_scores(server, page) -> None:
    base, model_id, clean_acc = server
    page.goto(f"{base}/models/{model_id}")
    row = page.locator('table.clean-scores tr[data-benchmark="mmlu"]')
    assert row.is_visible()
    assert row.locator("td.clean").inner_text() == f"{clean_acc:.2f}"
    assert row.locator("td").nth(3).inner_text() == "4"  # overlapping questions
    page.goto(f"{base}/runs/cpt")
    assert page.locator("table.clean-scores").is_visible()


def test_leaderboard_switches_to_clean_scores(server, page) -> None:
    base, _model_id, clean_acc = server
    page.goto(base + "/")
    page.locator('input[name="metric"][value="clean"]').check()
    page.wait_for_url("**metric=clean**")
    cell = page.locator('#leaderboard tbody tr').first.locator("td", has_text=f"{clean_acc:.1f}")
    assert cell.count() >= 1
