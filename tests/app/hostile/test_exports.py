"""Exports and pages: CSV cells a spreadsheet would run as formulas, the HTML error page for browsers, HEAD, and
the progress bar of a job that ended without progress."""

from __future__ import annotations

import csv
import io
import re

import pytest
from fastapi.testclient import TestClient

from app.db.models import Job, Model

FORMULAS = ["=HYPERLINK(\"http://evil\",\"x\")", "+1+2", "-2+3", "@SUM(A1:A9)", "=cmd|' /C calc'!A0"]


def test_csv_export_neutralises_formulas(register, client: TestClient) -> None:
    for index, name in enumerate(FORMULAS):
        assert register(name=name, tags=[f"=tag{index}", "plain"], training_run=f"@run{index}").status_code == 201
    assert register(name="safe-name", tags=["ok"]).status_code == 201
    response = client.get("/leaderboard.csv", params={"sort": "name", "unscored": "1"})  # no scores yet: shown on request
    assert response.status_code == 200
    rows = {row["model_id"]: row for row in csv.DictReader(io.StringIO(response.text))}
    by_name = {row["model"].removeprefix("'"): row for row in rows.values()}
    for index, name in enumerate(FORMULAS):
        row = by_name[name]
        assert row["model"] == "'" + name
        assert row["tags"] == f"'=tag{index};plain"
        assert row["training_run"] == f"'@run{index}"
    assert by_name["safe-name"]["model"] == "safe-name" and by_name["safe-name"]["tags"] == "ok"
    for row in rows.values():  # no cell of the file starts with a formula character
        assert not any(str(value).startswith(("=", "+", "-", "@")) for value in row.values())


def test_browser_gets_an_html_error_page_for_a_bad_page_path(client: TestClient) -> None:
    page = client.get("/jobs/abc", headers={"Accept": "text/html,application/xhtml+xml"})
    assert page.status_code == 422 and page.headers["content-type"].startswith("text/html")
    assert "job_id" in page.text and "<html" in page.text.lower()
    api = client.get("/api/v1/jobs/abc", headers={"Accept": "text/html"})  # the API stays JSON
    assert api.status_code == 422 and "job_id" in api.json()["detail"]
    twin = client.get("/jobs/abc.json", headers={"Accept": "text/html"})
    assert twin.headers["content-type"].startswith("application/json")
    bad_query = client.get("/", params={"q": "(a)\\1"}, headers={"Accept": "text/html"})
    assert bad_query.status_code == 422 and bad_query.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize("path", ["/", "/queue", "/leaderboard.csv", "/leaderboard.json"])
def test_head_answers_like_get(client: TestClient, path: str) -> None:
    head = client.head(path)
    assert head.status_code == 200, path
    assert head.headers["content-type"] == client.get(path).headers["content-type"]


@pytest.mark.parametrize("status", ["failed", "cancelled", "queued"])
def test_a_job_that_ended_without_progress_shows_an_empty_bar(client: TestClient, session_factory,
                                                              status: str) -> None:
    with session_factory() as session:
        model = Model(name="m", path="/m", source="local", tags=[])
        session.add(model)
        session.flush()
        job = Job(model_id=model.id, benchmark="mmlu", template="colossaleval", config={}, status=status,
                  error="boom" if status == "failed" else None)
        session.add(job)
        session.commit()
        job_id = job.id
    html = client.get(f"/jobs/{job_id}").text
    bar = re.search(r'<progress id="progress" max="(\d+)" value="(\d+)"', html)
    assert bar is not None and bar.group(2) == "0", bar and bar.group(0)
