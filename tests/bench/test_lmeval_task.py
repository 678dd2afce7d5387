"""Generated lm-eval tasks read MMLU from the local CSVs and build exactly our `harness` prompts."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("lm_eval")
pytest.importorskip("datasets")

from bench.lmeval_task import TASK_PREFIX, lmeval_template, write_tasks

SUBJECT = "machine_learning"  # its dev file has a field with "\r\n"


@pytest.fixture()
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("HF_DATASETS_OFFLINE", "HF_HUB_OFFLINE"):
        monkeypatch.setenv(name, "1")
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "cache"))
    return tmp_path


def test_unknown_subject_is_refused(data_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no MMLU task|does not exist"):
        write_tasks(["not_a_subject"], data_dir, tmp_path)


def test_template_is_lmevals_own() -> None:
    template = lmeval_template()
    assert template["doc_to_text"].startswith("{{question.strip()}}\nA. {{choices[0]}}")
    assert template["fewshot_config"] == {"sampler": "first_n"}
    assert template["fewshot_split"] == "dev"


@pytest.mark.slow  # lm-eval indexes all its built-in tasks first (~10 s)
def test_contexts_equal_our_harness_prompts(data_dir: Path, offline: Path) -> None:
    from lm_eval.tasks import TaskManager, get_task_dict

    from evaluators.plan import build_plan
    from evaluators.tiny_model import copy_llama_tokenizer
    from evaluators.tokenization import load_tokenizer

    names = write_tasks([SUBJECT], data_dir, offline / "tasks")
    task = get_task_dict(names, TaskManager(include_path=str(offline / "tasks")))[f"{TASK_PREFIX}{SUBJECT}"]
    task.build_all_requests(limit=3, rank=0, world_size=1)
    contexts = {}
    for instance in task.instances:
        contexts.setdefault(instance.doc_id, set()).add(instance.args[0])
    assert all(len(c) == 1 for c in contexts.values())
    assert all(int(doc["answer"]) in range(4) for doc in task.test_docs())
    assert not any("\r" in doc["question"] for doc in task.fewshot_docs())

    tok_dir = offline / "tok"
    tok_dir.mkdir()
    copy_llama_tokenizer(data_dir / "tokenizers" / "llama2", tok_dir)
    plan = build_plan("mmlu", "harness", load_tokenizer(tok_dir, "hf"), data_dir, subjects=[SUBJECT], limit=3)
    ours = {item.question.index: item.prompt.text for item in plan.items}
    assert {doc_id: next(iter(c)) for doc_id, c in contexts.items()} == ours
    assert os.environ["HF_HUB_OFFLINE"] == "1"
