"""`cbench eval`, `cbench prompts` and `cbench export-ceval` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cbench.main import main

EXPECTED = {"mmlu": 14042, "cmmlu": 11582, "agieval": 3337, "gaokao": 1418, "ceval": 1346}


def _cbench(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cbench.main", *args], capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize(("args", "message"), [
    (["--benchmarks", "mmlux"], "unknown benchmark 'mmlux'; valid: mmlu, cmmlu, agieval, gaokao, ceval"),
    (["--template", "nope"], "unknown template 'nope'; valid: colossaleval, colossaleval-2023-09, harness"),
    (["--benchmarks", "mmlu", "--subjects", "astrology"], "unknown subject(s) 'astrology' for mmlu; valid: abstract_algebra"),
])
def test_bad_names_exit_2_with_one_line(args, message, tiny_model, data_dir, capsys):
    assert main(["eval", "--model", str(tiny_model), "--data-dir", str(data_dir), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1


def test_missing_model_and_data_exit_2(tmp_path, data_dir, tiny_model, capsys):
    assert main(["eval", "--model", str(tmp_path / "none"), "--benchmarks", "mmlu", "--data-dir", str(data_dir)]) == 2
    assert "model path" in capsys.readouterr().err
    assert main(["eval", "--model", str(tmp_path), "--benchmarks", "mmlu", "--data-dir", str(data_dir)]) == 2
    assert "no config.json" in capsys.readouterr().err
    assert main(["eval", "--model", str(tiny_model), "--data-dir", str(tmp_path / "nodata")]) == 2
    assert "CBENCH_DATA_DIR" in capsys.readouterr().err


def test_eval_all_five_benchmarks_writes_results(tiny_model, data_dir, tmp_path):
    output = tmp_path / "results.json"
    result = _cbench("eval", "--model", str(tiny_model), "--benchmarks", "mmlu,cmmlu,agieval,gaokao,ceval",
                     "--subjects", "anatomy,agronomy,logiqa-en,2010-2022_Biology_MCQs,accountant", "--limit", "2",
                     "--device", "cpu", "--data-dir", str(data_dir), "--output", str(output))
    assert result.returncode == 0, result.stderr
    for benchmark in EXPECTED:
        assert benchmark in result.stdout
    payload = json.loads(output.read_text())
    assert [r["benchmark"] for r in payload["results"]] == list(EXPECTED)
    for r in payload["results"]:
        summary = r["summary"]
        preds = payload["predictions"][r["benchmark"]]
        assert summary["n"] == len(preds) == 2 * len({p["subject"] for p in preds})  # CMMLU has an anatomy too
        assert summary["micro"]["correct"] == sum(p["correct" if summary["metric"] == "first_token"
                                                    else "correct_combined"] for p in preds)
        assert r["record"]["template"] == "colossaleval"
        assert all(p["prompt"] and len(p["scores"]) == 4 for p in preds)


def test_eval_reads_the_data_directory_from_a_dot_env_file(tiny_model, data_dir, tmp_path):
    """`cbench eval` takes CBENCH_DATA_DIR from the one settings object, so a `.env` file in the working directory
    works as it does for `cbench worker`; without a data directory it names the one it looked for."""
    env = {key: value for key, value in os.environ.items() if key != "CBENCH_DATA_DIR"}
    command = [sys.executable, "-m", "cbench.main", "eval", "--model", str(tiny_model), "--benchmarks", "mmlu",
               "--subjects", "anatomy", "--limit", "1", "--device", "cpu", "--output", "out.json"]
    (tmp_path / ".env").write_text(f"CBENCH_DATA_DIR={data_dir}\n")
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "out.json").read_text())["results"][0]["summary"]["n"] == 1
    (tmp_path / ".env").write_text(f"CBENCH_DATA_DIR={tmp_path / 'elsewhere'}\n")
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env)
    assert result.returncode == 2 and f"data directory {tmp_path / 'elsewhere'} does not exist" in result.stderr


def test_export_ceval_writes_the_submission_format(tiny_model, data_dir, tmp_path):
    results = tmp_path / "ceval_test.json"
    run = _cbench("eval", "--model", str(tiny_model), "--benchmarks", "ceval", "--split", "test",
                  "--subjects", "accountant,art_studies", "--limit", "3", "--device", "cpu",
                  "--data-dir", str(data_dir), "--output", str(results))
    assert run.returncode == 0, run.stderr
    submission = tmp_path / "submission.json"
    export = _cbench("export-ceval", "--results", str(results), "--output", str(submission), "--data-dir", str(data_dir))
    assert export.returncode == 0, export.stderr
    answers = json.loads(submission.read_text())
    assert set(answers) == {"accountant", "art_studies"}
    assert answers["accountant"].keys() == {"0", "1", "2"} and set(answers["accountant"].values()) <= set("ABCD")


@pytest.mark.slow
@pytest.mark.parametrize("benchmark", list(EXPECTED))
def test_prompts_yield_the_expected_counts(benchmark, data_dir, llama2_tokenizer_dir, tiny_model, tmp_path):
    result = _cbench("prompts", "--benchmark", benchmark, "--tokenizer", str(tiny_model), "--data-dir", str(data_dir))
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.split("\n") if line]
    assert len(rows) == EXPECTED[benchmark]
    assert len({r["id"] for r in rows}) == len(rows)
    first = rows[0]
    assert {"id", "subject", "prompt", "gold", "candidate_token_ids", "prompt_sha256"} <= first.keys()
    assert first["candidate_token_ids"] == [[319, 29909], [350, 29933], [315, 29907], [360, 29928]]


def test_prompts_for_the_harness_template(tiny_model, data_dir):
    result = _cbench("prompts", "--benchmark", "mmlu", "--template", "harness", "--tokenizer", str(tiny_model),
                     "--subjects", "anatomy", "--limit", "1", "--data-dir", str(data_dir))
    assert result.returncode == 0, result.stderr
    (row,) = [json.loads(line) for line in result.stdout.split("\n") if line]
    assert row["prompt"].startswith("The following are multiple choice questions (with answers) about anatomy.")
    assert row["prompt"].endswith("\nAnswer:") and row["candidate_token_ids"] == [[319], [350], [315], [360]]


def test_data_path_in_repo_is_not_a_package():
    assert not (Path(__file__).resolve().parents[2] / "datasets" / "__init__.py").exists()
