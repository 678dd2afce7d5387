"""Contamination end to end: `cbench contamination index` and `check` as real processes against the test
database, then the clean-subset scores in the API, on the model and run pages and on the leaderboard."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.db.base import utcnow
from app.db.models import Job, Model, PredictionRow, SubjectResult
from contamination.check import load_benchmark
from contamination.clean_scores import newcombe_interval
from contamination.normalise import units
from evaluators.aggregate import summarize
from evaluators.records import Prediction

REPO_ROOT = Path(__file__).resolve().parents[4]


def cbench(*args: str, db_url: str, cwd: Path, data_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": db_url, "PYTHONPATH": str(REPO_ROOT), "CBENCH_DATA_DIR": str(data_dir)}
    return subprocess.run([sys.executable, "-m", "cbench.main", "contamination", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def anatomy(data_dir: Path):
    return load_benchmark("mmlu", str(data_dir), subjects=["anatomy"])[1]["anatomy"]


def _seed_checkpoint(session_factory, questions) -> tuple[int, dict[str, bool]]:
    """A run-a checkpoint with an MMLU anatomy job: planted questions (the first 5 long ones) right, others right
    when their index is a multiple of 3."""
    planted = {q.id for q in [q for q in questions if len(units(q.question)) >= 16][:5]}
    outcome = {q.id: q.id in planted or q.index % 3 == 0 for q in questions}
    predictions = [Prediction(question_id=q.id, subject="anatomy", gold=q.gold,
                              pred=q.gold if outcome[q.id] else ("B" if q.gold == "A" else "A"),
                              scores={"A": -1.0, "B": -2.0, "C": -3.0, "D": -4.0}, correct=outcome[q.id],
                              prompt_sha256=hashlib.sha256(q.id.encode()).hexdigest()) for q in questions]
    summary = summarize("mmlu", predictions, metric="first_token", expected_n=len(predictions),
                        subject_names={"anatomy": "Anatomy"})
    with session_factory() as session:
        model = Model(name="run-a@step-100", path="/models/run-a", source="local", tags=[], training_run="run-a",
                      step=100, tokens_seen=1000)
        session.add(model)
        session.flush()
        job = Job(model_id=model.id, benchmark="mmlu", template="colossaleval", config={}, status="succeeded",
                  progress_done=len(predictions), progress_total=len(predictions), attempts=1,
                  summary=summary.to_dict(), finished_at=utcnow(), record={})
        session.add(job)
        session.flush()
        session.add_all(PredictionRow(job_id=job.id, question_id=p.question_id, subject=p.subject, gold=p.gold,
                                      pred=p.pred, scores=p.scores, correct=p.correct, prompt_sha256=p.prompt_sha256)
                        for p in predictions)
        session.add_all(SubjectResult(job_id=job.id, subject=s.subject, display=s.display, correct=s.accuracy.correct,
                                      n=s.accuracy.n, acc=s.accuracy.acc, stderr=s.accuracy.stderr,
                                      ci_low=s.accuracy.ci_low, ci_high=s.accuracy.ci_high) for s in summary.subjects)
        session.commit()
        return model.id, {qid: outcome[qid] for qid in outcome} | {"_planted": planted}  # type: ignore[dict-item]


def test_check_stores_results_and_clean_scores_show_everywhere(client: TestClient, session_factory, db_url: str,
                                                               data_dir: Path, tmp_path: Path, anatomy) -> None:
    model_id, outcome = _seed_checkpoint(session_factory, anatomy)
    planted = outcome.pop("_planted")
    by_id = {q.id: q for q in anatomy}
    corpus = tmp_path / "corpus.jsonl"
    corpus.write_text("".join(json.dumps({"text": f"Quiz. {by_id[qid].question} Thanks."}) + "\n"
                              for qid in sorted(planted)) + json.dumps({"text": "nothing to see " * 30}) + "\n")
    built = cbench("index", str(corpus), "--output", str(tmp_path / "idx"), "--memory-mb", "8",
                   db_url=db_url, cwd=tmp_path, data_dir=data_dir)
    assert built.returncode == 0, built.stderr
    index_id = json.loads((tmp_path / "idx" / "manifest.json").read_text())["id"]
    checked = cbench("check", "--index", str(tmp_path / "idx"), "--benchmarks", "mmlu", "--subjects", "anatomy",
                     "--run", "run-a", "--output", str(tmp_path / "report.json"),
                     db_url=db_url, cwd=tmp_path, data_dir=data_dir)
    assert checked.returncode == 0, checked.stderr
    assert "anatomy: 5/135" in checked.stdout and "1 checkpoint(s) of run run-a linked" in checked.stdout
    report = json.loads((tmp_path / "report.json").read_text())
    assert set(report["checks"][0]["flagged"]) == planted

    indexes = client.get("/api/v1/contamination/indexes").json()
    assert indexes["count"] == 1 and indexes["data"][0]["index_id"] == index_id
    detail = client.get(f"/api/v1/contamination/indexes/{index_id}").json()
    (check,) = detail["checks"]
    assert check["totals"]["question"] == 5 and check["record"]["index_id"] == index_id
    hits = client.get(f"/api/v1/contamination/checks/{check['id']}/hits", params={"field": "question"}).json()
    assert hits["count"] == sum(1 for h in report["checks"][0]["hits"] if h["field"] == "question")
    assert {h["question_id"] for h in hits["data"]} == planted and all(h["file"] == str(corpus) for h in hits["data"])
    assert client.get(f"/api/v1/models/{model_id}").json()["contamination_index"] == index_id

    scores = client.get(f"/api/v1/models/{model_id}/clean-scores").json()
    (score,) = scores["data"]
    clean_ids = [q for q in outcome if q not in planted]
    k_clean = sum(outcome[q] for q in clean_ids)
    split = score["split"]
    assert (split["overlapping"]["correct"], split["overlapping"]["n"]) == (5, 5)
    assert (split["clean"]["correct"], split["clean"]["n"]) == (k_clean, len(clean_ids))
    assert split["difference"] == pytest.approx(100.0 - 100.0 * k_clean / len(clean_ids))
    low, high = newcombe_interval(5, 5, k_clean, len(clean_ids))
    assert split["diff_low"] == pytest.approx(100 * low) and split["diff_high"] == pytest.approx(100 * high)
    assert score["flagged"] == 5 and score["index_id"] == index_id

    page = client.get(f"/models/{model_id}")
    assert page.status_code == 200 and "overlapping vs clean" in page.text
    assert f"{100 * k_clean / len(clean_ids):.2f}" in page.text
    run_page = client.get("/runs/run-a").text
    assert "overlapping vs clean" in run_page and "run-a@step-100" in run_page
    assert client.get(f"/models/{model_id}.json").json()["clean_rows"][0]["split"]["clean"]["n"] == len(clean_ids)
    board = client.get("/leaderboard.json", params={"metric": "clean"}).json()
    cell = board["rows"][0]["cells"]["mmlu"]
    assert cell["value"] == pytest.approx(100 * k_clean / len(clean_ids)) and cell["acc"] != cell["value"]
    micro = client.get("/leaderboard.json").json()["rows"][0]["cells"]["mmlu"]
    assert micro["value"] == pytest.approx(100 * sum(outcome.values()) / len(outcome))


def test_bad_input_is_refused_with_a_message(client: TestClient, db_url: str, data_dir: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "fine"}\n{oops\n')
    result = cbench("index", str(bad), "--output", str(tmp_path / "idx"), db_url=db_url, cwd=tmp_path,
                    data_dir=data_dir)
    assert result.returncode == 2 and "bad.jsonl:2: not JSON" in result.stderr and "Traceback" not in result.stderr
    result = cbench("check", "--index", str(tmp_path / "none"), "--benchmarks", "mmlu", db_url=db_url, cwd=tmp_path,
                    data_dir=data_dir)
    assert result.returncode == 2 and "not a contamination index" in result.stderr
    good = tmp_path / "good.jsonl"
    good.write_text('{"text": "fine words"}\n')
    assert cbench("index", str(good), "--output", str(tmp_path / "ok"), db_url=db_url, cwd=tmp_path,
                  data_dir=data_dir).returncode == 0
    for args, message in ((("--benchmarks", "mmlux"), "unknown mmlux"),
                          (("--benchmarks", "mmlu", "--subjects", "nope"), "unknown subject")):
        result = cbench("check", "--index", str(tmp_path / "ok"), *args, db_url=db_url, cwd=tmp_path,
                        data_dir=data_dir)
        assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr
    assert client.get("/api/v1/contamination/indexes/0000000000000000").status_code == 404
    assert client.get("/api/v1/contamination/checks/99/hits").status_code == 404
    assert client.get("/api/v1/contamination/checks/1/hits", params={"field": "answer"}).status_code == 422
    assert client.get("/api/v1/models/99/clean-scores").status_code == 404
    assert client.get("/api/v1/models/1/clean-scores", params={"template": "x"}).status_code == 422


def test_checkpoints_carry_the_index_id(client: TestClient, auth: dict[str, str], model_dir: Path) -> None:
    body = {"run": "r", "step": 5, "tokens_seen": 50, "path": str(model_dir), "contamination_index": "0123456789abcdef"}
    response = client.post("/api/v1/checkpoints", json=body, headers=auth)
    assert response.status_code == 201, response.text
    assert response.json()["model"]["contamination_index"] == "0123456789abcdef"
    bad = client.post("/api/v1/checkpoints", json=body | {"step": 6, "contamination_index": "../x"}, headers=auth)
    assert bad.status_code == 422 and "contamination_index" in bad.text
