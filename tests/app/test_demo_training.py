"""The demo's training run: its corpus is the dev questions (never a scored test question), and a run that fails
(here: the interpreter named by CBENCH_TRAIN_PYTHON lacks colossalai) is an error line in the server's log and a
notice on every page, while the server keeps serving."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from app.demo import DEMO_SUBJECTS
from app.demo_training import CORPUS_BENCHMARKS, LOG_FILE, write_corpus


def test_corpus_is_the_dev_questions_with_their_answers(tmp_path: Path, data_dir: Path) -> None:
    from evaluators.catalog import load_spec
    from evaluators.loaders import load_file
    from evaluators.templates import colossal_item

    count = write_corpus(data_dir, tmp_path / "corpus.jsonl")
    records = [json.loads(line) for line in (tmp_path / "corpus.jsonl").read_text(encoding="utf-8").splitlines()]
    specs = {name: load_spec(name) for name in CORPUS_BENCHMARKS}
    assert count == len(records) == sum(s.counts["dev"] for spec in specs.values() for s in spec.subjects)
    assert {r["source"] for r in records} == {""}
    assert {r["target"][-1] for r in records} <= {"A", "B", "C", "D"}
    sources = {r["target"][:-1] for r in records}
    for name in CORPUS_BENCHMARKS:
        for subject in DEMO_SUBJECTS[name]:
            scored = load_file(specs[name], data_dir, subject, specs[name].eval_split)
            assert not sources & {colossal_item(q) for q in scored}, subject
            dev = load_file(specs[name], data_dir, subject, "dev")
            assert {colossal_item(q) for q in dev} <= sources


@pytest.mark.slow
def test_a_failed_training_run_is_logged_and_shown_and_the_server_stays_up(tmp_path: Path, serve_demo) -> None:
    import httpx

    train_log = tmp_path / "demo-train" / LOG_FILE
    # the main venv's interpreter has no colossalai, so `cbench-train run` fails (after `prepare` succeeded)
    with serve_demo(tmp_path, CBENCH_DEMO_LIMIT="1", CBENCH_TRAIN_PYTHON=sys.executable,
                    CBENCH_LOG_FORMAT="text") as demo:
        deadline, page = time.monotonic() + 900, ""
        while time.monotonic() < deadline and "demo training run failed" not in page:
            assert demo.process.poll() is None, demo.log_tail()
            try:
                page = httpx.get(demo.base + "/", timeout=10).text
            except httpx.TransportError:
                pass
            time.sleep(2)
        assert 'class="notice"' in page and "cbench-train run" in page and str(train_log) in page
        assert httpx.get(demo.base + "/healthz", timeout=10).status_code == 200
        assert "colossalai" in train_log.read_text(encoding="utf-8")
        errors = [line for line in demo.log.read_text().splitlines() if "demo training run failed" in line]
        assert len(errors) == 1 and 'level="ERROR"' in errors[0], errors
