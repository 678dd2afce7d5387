"""Fixtures for the trainer tests: the llama2 tokenizer, Chinese words from CMMLU, a tiny random LLaMA, a corpus.

Tests that need torch/transformers/colossalai call `pytest.importorskip` so the main .venv skips them; run the whole
folder inside the trainer venv: `.venv-train/bin/python -m pytest tests/trainer -x -q`.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

CJK_WORD = re.compile(r"^[\u4e00-\u9fff]{2,4}$")
CMMLU_FILES = ("agronomy", "anatomy", "ancient_chinese", "arts", "astronomy", "business_ethics",
               "chinese_civil_service_exam", "chinese_food_culture")


def cmmlu_rows(data_dir: Path, subjects=CMMLU_FILES, split: str = "test"):
    for subject in subjects:
        with open(data_dir / "cmmlu" / "data" / split / f"{subject}.csv", encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle)
            next(reader)
            for row in reader:
                yield subject, row


@pytest.fixture(scope="session")
def llama2_dir(data_dir: Path) -> Path:
    return data_dir / "tokenizers" / "llama2"


@pytest.fixture(scope="session")
def cmmlu_words(data_dir: Path) -> list[str]:
    """Up to 200 distinct 2-4 character Chinese answer options from CMMLU test files (real words)."""
    words = []
    for _, row in cmmlu_rows(data_dir):
        for option in row[2:6]:
            if CJK_WORD.match(option) and option not in words:
                words.append(option)
    return words[:200]


@pytest.fixture(scope="session")
def expanded_tokenizer(tmp_path_factory, llama2_dir: Path, cmmlu_words: list[str]) -> Path:
    from trainer.vocab import expand_tokenizer

    output = tmp_path_factory.mktemp("tok") / "expanded"
    expand_tokenizer(llama2_dir, cmmlu_words, output)
    return output


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory, llama2_dir: Path) -> Path:
    pytest.importorskip("colossalai")
    from evaluators.tiny_model import build_tiny_llama

    return build_tiny_llama(tmp_path_factory.mktemp("tiny") / "model", llama2_dir, seed=0, hidden_size=32,
                            intermediate_size=64, num_attention_heads=2, num_key_value_heads=2)


@pytest.fixture(scope="session")
def corpus(tmp_path_factory, data_dir: Path) -> Path:
    """A small real corpus: CMMLU questions as QA records (question masked) plus plain-text records."""
    path = tmp_path_factory.mktemp("corpus") / "cmmlu_qa.jsonl"
    with open(path, "w", encoding="utf-8") as handle:
        for number, (subject, row) in enumerate(cmmlu_rows(data_dir, CMMLU_FILES[:4])):
            question = f"{row[1]}\nA. {row[2]}\nB. {row[3]}\nC. {row[4]}\nD. {row[5]}\n答案："
            answer = f"{row[6]}. {row[2 + 'ABCD'.index(row[6])]}"
            if number % 3 == 0:
                record = {"source": "", "target": question + answer, "category": subject}
            else:
                record = {"source": question, "target": answer, "category": subject}
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path
