"""Exports (SQLite and Postgres): results in lm-evaluation-harness's layout, read back by lm-eval's own table
writer; predictions streamed as CSV, JSON lines and Parquet, each with the reproducibility record."""

from __future__ import annotations

import io
import json

import pytest

from app.exports import predictions as prediction_exports

from .conftest import SUBJECTS, make_predictions


def test_job_results_in_lm_eval_layout(client, seeded) -> None:
    job_id = seeded.jobs[("alpha-7b", "mmlu")]
    summary = client.get(f"/api/v1/jobs/{job_id}/results").json()["summary"]
    response = client.get(f"/api/v1/jobs/{job_id}/results", params={"format": "lm-eval"})
    assert response.status_code == 200, response.text
    doc = response.json()
    assert doc["results"]["mmlu"]["acc,none"] == pytest.approx(summary["micro"]["acc"] / 100)
    assert doc["results"]["mmlu"]["acc_stderr,none"] == pytest.approx(summary["micro"]["stderr"] / 100)
    assert doc["group_subtasks"]["mmlu"] == [f"mmlu_{s}" for s in SUBJECTS["mmlu"]]
    anatomy = make_predictions("alpha-7b", "mmlu", 0.8, SUBJECTS["mmlu"])
    anatomy = [p for p in anatomy if p.subject == "anatomy"]
    assert doc["results"]["mmlu_anatomy"]["acc,none"] == pytest.approx(sum(p.correct for p in anatomy) / len(anatomy))
    assert doc["n-samples"]["mmlu_anatomy"] == {"original": 12, "effective": 12}
    assert doc["n-shot"]["mmlu_anatomy"] == 5
    assert doc["colossal_bench"]["jobs"]["mmlu"]["record"]["template"] == "colossaleval"
    lm_eval_utils = pytest.importorskip("lm_eval.utils")
    table = lm_eval_utils.make_table(doc)  # lm-eval's own reader of its results files
    assert "mmlu" in table and " - Anatomy" in table
    assert f"{doc['results']['mmlu']['acc,none']:.4f}" in table
    assert "mmlu" in lm_eval_utils.make_table(doc, "groups")


def test_model_results_in_lm_eval_layout(client, seeded) -> None:
    model_id = seeded.models["alpha-7b"]
    doc = client.get(f"/api/v1/models/{model_id}/results", params={"format": "lm-eval"}).json()
    assert set(doc["groups"]) == {"mmlu", "cmmlu", "agieval"}
    assert doc["config"]["model_name"] == "alpha-7b"
    plain = client.get(f"/api/v1/models/{model_id}/results").json()
    assert {d["benchmark"] for d in plain["data"]} == {"mmlu", "cmmlu", "agieval"}


def test_export_refusals_name_the_problem(client, seeded) -> None:
    response = client.get(f"/api/v1/jobs/{seeded.queued}/results", params={"format": "lm-eval"})
    assert response.status_code == 409 and "succeeded" in response.json()["detail"]
    response = client.get(f"/api/v1/jobs/{seeded.queued}/predictions", params={"format": "xlsx"})
    assert response.status_code == 422 and "format" in response.json()["detail"]
    assert client.get("/api/v1/jobs/999999/predictions", params={"format": "csv"}).status_code == 404


def _expected(seeded) -> tuple[int, list]:
    return seeded.jobs[("alpha-7b", "mmlu")], make_predictions("alpha-7b", "mmlu", 0.8, SUBJECTS["mmlu"])


def test_predictions_as_csv_with_the_record(client, seeded) -> None:
    pandas = pytest.importorskip("pandas")
    job_id, expected = _expected(seeded)
    response = client.get(f"/api/v1/jobs/{job_id}/predictions", params={"format": "csv"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    first = response.text.split("\n", 1)[0]
    assert first.startswith("# record: ")
    record = json.loads(first[len("# record: "):])
    assert record["job_id"] == job_id and record["record"]["prompts_sha256"] == "ab" * 32
    frame = pandas.read_csv(io.StringIO(response.text), skiprows=1)
    assert list(frame["question_id"]) == [p.question_id for p in expected]
    assert int(frame["correct"].sum()) == sum(p.correct for p in expected)
    assert json.loads(frame["scores"][0]) == pytest.approx(expected[0].scores)
    assert frame["prompt"][0] == expected[0].prompt  # commas, quotes, newlines and <b> survive
    anatomy = client.get(f"/api/v1/jobs/{job_id}/predictions", params={"format": "csv", "subject": "anatomy"})
    assert len(pandas.read_csv(io.StringIO(anatomy.text), skiprows=1)) == 12


def test_predictions_as_json_lines_with_the_record(client, seeded) -> None:
    job_id, expected = _expected(seeded)
    response = client.get(f"/api/v1/jobs/{job_id}/predictions", params={"format": "jsonl", "correct": "false"})
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert lines[0]["record"]["benchmark"] == "mmlu"
    wrong = [p for p in expected if not p.correct]
    assert [row["question_id"] for row in lines[1:]] == [p.question_id for p in wrong]
    assert all(row["correct"] is False for row in lines[1:])


def test_predictions_as_parquet_in_row_groups(client, seeded, monkeypatch) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    monkeypatch.setattr(prediction_exports, "CHUNK_ROWS", 10)  # 36 rows: streamed as 4 row groups
    job_id, expected = _expected(seeded)
    response = client.get(f"/api/v1/jobs/{job_id}/predictions", params={"format": "parquet"})
    assert response.status_code == 200, response.text
    parquet = pq.ParquetFile(io.BytesIO(response.content))
    assert parquet.metadata.num_row_groups == 4 and parquet.metadata.num_rows == len(expected)
    record = json.loads(parquet.schema_arrow.metadata[prediction_exports.RECORD_KEY])
    assert record["job_id"] == job_id and record["record"]["git_revision"] == "test"
    table = parquet.read().to_pylist()
    assert [row["question_id"] for row in table] == [p.question_id for p in expected]
    assert dict(table[0]["scores"]) == pytest.approx(expected[0].scores)
    assert [row["correct"] for row in table] == [p.correct for p in expected]
