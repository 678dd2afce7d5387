"""A partial run (a smoke job with `limit`, a few subjects) never displaces a complete score: the leaderboard (API
and page), the model page, the compare page and the run page show the newest complete result, and a newer partial
one beside it, labelled (SQLite and Postgres)."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.db.models import Model

from .conftest import add_succeeded_job, make_predictions

SUBJECTS = ("abstract_algebra", "anatomy")


@pytest.fixture
def runs(app: FastAPI) -> dict[str, int]:
    """Two checkpoints of run "r": each a complete MMLU job, then a newer partial one (one subject, 100% right)."""
    ids: dict[str, int] = {}
    with app.state.session_factory() as session:
        for name, step, skill in (("c-1", 1, 0.3), ("c-2", 2, 0.5)):
            model = Model(name=name, path=f"/m/{name}", source="local", tags=[], training_run="r", step=step)
            session.add(model)
            session.flush()
            ids[name] = model.id
            ids[f"{name}/complete"] = add_succeeded_job(session, model.id, name, "mmlu", skill, subjects=SUBJECTS)
            ids[f"{name}/partial"] = add_succeeded_job(session, model.id, name, "mmlu", 1.0, partial=True,
                                                       subjects=SUBJECTS[:1])
        session.commit()
    return ids


def _complete_acc(name: str, skill: float) -> float:
    predictions = make_predictions(name, "mmlu", skill, SUBJECTS)
    return 100 * sum(p.correct for p in predictions) / len(predictions)


def test_api_leaderboard_keeps_the_complete_score(client: TestClient, runs: dict[str, int]) -> None:
    entries = {e["model_name"]: e for e in client.get("/api/v1/leaderboard").json()["data"]}
    entry = entries["c-1"]
    assert entry["job_id"] == runs["c-1/complete"] and entry["complete"] is True and entry["partial"] is False
    assert entry["acc"] == pytest.approx(_complete_acc("c-1", 0.3)) and entry["acc"] < 100.0
    assert entry["newer_partial"]["job_id"] == runs["c-1/partial"] and entry["newer_partial"]["acc"] == 100.0


def test_leaderboard_page_keeps_the_complete_score_and_its_average(client: TestClient, runs: dict[str, int]) -> None:
    rows = {r["name"]: r for r in client.get("/leaderboard.json").json()["rows"]}
    cell = rows["c-1"]["cells"]["mmlu"]
    assert cell["job_id"] == runs["c-1/complete"] and cell["partial"] is False
    assert rows["c-1"]["avg"] == pytest.approx(_complete_acc("c-1", 0.3)) and rows["c-1"]["avg_over"] == 1
    assert cell["newer_partial"]["job_id"] == runs["c-1/partial"] and cell["newer_partial"]["partial"] is True
    page = client.get("/").text
    assert f'href="/jobs/{runs["c-1/complete"]}"' in page and f'href="/jobs/{runs["c-1/partial"]}"' in page
    assert "newer partial" in page


def test_model_page_keeps_the_complete_score(client: TestClient, runs: dict[str, int]) -> None:
    data = client.get(f"/models/{runs['c-1']}.json").json()
    (result,) = data["results"]
    assert result["job_id"] == runs["c-1/complete"] and result["newer_partial"]["job_id"] == runs["c-1/partial"]
    assert [s["subject"] for s in data["subjects"]["mmlu"]] == list(SUBJECTS)  # the complete job's subjects
    page = client.get(f"/models/{runs['c-1']}").text
    assert "newer partial" in page and f'href="/jobs/{runs["c-1/partial"]}"' in page


def test_compare_page_pairs_the_complete_jobs(client: TestClient, runs: dict[str, int]) -> None:
    data = client.get("/compare.json", params={"a": runs["c-1"], "b": runs["c-2"]}).json()
    (bench,) = data["benchmarks"]
    assert (bench["job_a"], bench["job_b"]) == (runs["c-1/complete"], runs["c-2/complete"])
    assert bench["n"] == len(make_predictions("c-1", "mmlu", 0.3, SUBJECTS))
    assert bench["newer_partial_a"]["job_id"] == runs["c-1/partial"]
    assert "newer partial" in client.get("/compare", params={"a": runs["c-1"], "b": runs["c-2"]}).text


def test_run_page_plots_the_complete_scores(client: TestClient, runs: dict[str, int]) -> None:
    points = client.get("/runs/r.json").json()["series"]["mmlu"]
    assert [p["job_id"] for p in points] == [runs["c-1/complete"], runs["c-2/complete"]]
    assert [p["newer_partial"]["job_id"] for p in points] == [runs["c-1/partial"], runs["c-2/partial"]]
    assert "newer partial" in client.get("/runs/r").text


def test_a_newer_complete_result_replaces_the_older_one(client: TestClient, app: FastAPI,
                                                         runs: dict[str, int]) -> None:
    with app.state.session_factory() as session:
        newer = add_succeeded_job(session, runs["c-1"], "c-1-again", "mmlu", 0.9, subjects=SUBJECTS)
        session.commit()
    entry = next(e for e in client.get("/api/v1/leaderboard").json()["data"] if e["model_name"] == "c-1")
    assert entry["job_id"] == newer and entry["newer_partial"] is None


def test_a_partial_result_alone_is_shown_as_partial(client: TestClient, app: FastAPI) -> None:
    with app.state.session_factory() as session:
        model = Model(name="only-partial", path="/m/p", source="local", tags=[])
        session.add(model)
        session.flush()
        job = add_succeeded_job(session, model.id, "only-partial", "mmlu", 0.5, partial=True, subjects=SUBJECTS)
        session.commit()
    (entry,) = client.get("/api/v1/leaderboard").json()["data"]
    assert entry["job_id"] == job and entry["partial"] is True and entry["newer_partial"] is None
