"""`evaluators.manifest` and `cbench data verify` on the real data and on damaged copies."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from cbench.main import main
from evaluators import catalog
from evaluators.dataset_spec import FileEntry
from evaluators.manifest import check_file, verify

GAOKAO_DIR = "gaokao/Data/Objective_Questions"
BIOLOGY = f"{GAOKAO_DIR}/2010-2022_Biology_MCQs.json"


@pytest.fixture
def gaokao_copy(data_dir: Path, tmp_path: Path) -> Path:
    shutil.copytree(data_dir / GAOKAO_DIR, tmp_path / GAOKAO_DIR)
    return tmp_path


def test_real_data_verifies(data_dir: Path):
    report = verify(data_dir)
    assert report.ok and report.problems == []
    assert report.files == sum(len(catalog.load_spec(n).files) for n in catalog.BENCHMARKS) == 423
    # every question file: MMLU test+dev, CMMLU test+dev, AGIEval, GAOKAO, C-Eval dev+val+test
    assert report.questions == 14042 + 285 + 11582 + 335 + 3337 + 1418 + 260 + 1346 + 12342


def test_damaged_and_missing_files_are_named(gaokao_copy: Path):
    (gaokao_copy / BIOLOGY).write_bytes((gaokao_copy / BIOLOGY).read_bytes() + b" ")
    (gaokao_copy / GAOKAO_DIR / "2010-2022_History_MCQs.json").unlink()
    report = verify(gaokao_copy, ["gaokao"])
    assert not report.ok and report.files == 7
    assert len(report.problems) == 2
    assert report.problems[0].startswith(f"gaokao: {BIOLOGY}: sha256 mismatch (expected acdef3dd5b47")
    assert report.problems[1] == f"gaokao: {GAOKAO_DIR}/2010-2022_History_MCQs.json: missing"


def test_count_and_parse_checks(gaokao_copy: Path):
    spec = catalog.load_spec("gaokao")
    entry = next(e for e in spec.files if e.path == BIOLOGY)
    assert check_file(spec, gaokao_copy, entry) == (None, 150)
    wrong_count = entry.model_copy(update={"questions": 151})
    assert check_file(spec, gaokao_copy, wrong_count)[0] == f"{BIOLOGY}: 150 questions, expected 151"
    broken = b'{"example": [{"question": "A. x B. y", "answer": ["Q"]}]}'
    (gaokao_copy / BIOLOGY).write_bytes(broken)
    hashed = FileEntry(path=BIOLOGY, subject=entry.subject, split="test",
                       sha256=hashlib.sha256(broken).hexdigest(), questions=1)
    problem, _ = check_file(spec, gaokao_copy, hashed)
    assert problem.startswith(f"{BIOLOGY}: unreadable: ") and "gold 'Q'" in problem


def test_cli_verify(data_dir: Path, gaokao_copy: Path, capsys):
    assert main(["data", "verify", "--data-dir", str(data_dir)]) == 0
    assert capsys.readouterr().out.startswith("ok: 423 files, 44947 questions")
    (gaokao_copy / BIOLOGY).unlink()
    assert main(["data", "verify", "--data-dir", str(gaokao_copy), "--benchmarks", "gaokao"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [f"gaokao: {BIOLOGY}: missing", f"1 of 7 files bad or missing in {gaokao_copy}"]


def test_cli_verify_bad_input(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setenv("CBENCH_DATA_DIR", str(tmp_path / "absent"))
    assert main(["data", "verify"]) == 2
    assert "absent does not exist; run `cbench data fetch" in capsys.readouterr().err
    assert main(["data", "verify", "--data-dir", str(tmp_path), "--benchmarks", "nope"]) == 2
    assert "unknown benchmark 'nope'; valid: mmlu, cmmlu, agieval, gaokao, ceval" in capsys.readouterr().err
