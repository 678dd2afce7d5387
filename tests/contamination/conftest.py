"""Corpora built from real benchmark questions: verbatim, reformatted and partial copies inside filler text."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from contamination.check import load_benchmark
from contamination.normalise import units
from evaluators.records import Question

LATIN_WORDS = [f"{a}{b}" for a in ("ka", "lo", "mi", "ru", "te", "zo", "ne", "pa") for b in
               ("ban", "cor", "dil", "fen", "gus", "hom", "jat", "lep")]


def filler_latin(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(LATIN_WORDS) for _ in range(words)) + "."


def filler_cjk(rng: random.Random, chars: int) -> str:
    return "".join(chr(rng.randint(0x5000, 0x5FFF)) for _ in range(chars)) + "。"


def verbatim(q: Question) -> str:
    return q.question + "\n" + "\n".join(f"{letter}. {option}" for letter, option in zip(q.letters, q.options,
                                                                                         strict=True))


def reformatted(q: Question) -> str:
    """Other case, spacing, line breaks, full-width punctuation and option labels: the same units."""
    text = "  ".join(q.question.upper().split())
    text = text.replace(",", "，").replace("?", "？").replace("(", "（").replace(")", "）")
    return text + " " + " ".join(f"({letter}) {option}" for letter, option in zip(q.letters, q.options, strict=True))


def partial(q: Question, n: int) -> str:
    """A middle piece of the question only: n + 2 units of it, as a quotation would copy it."""
    u = units(q.question)
    start = (len(u) - (n + 2)) // 2
    piece = u[start:start + n + 2]
    joiner = "" if all(len(x) == 1 and ord(x[0]) > 0x2E80 for x in piece) else " "
    return joiner.join(piece)


class Corpora:
    """The helpers above, handed to tests as the `corpora` fixture."""

    filler_latin = staticmethod(filler_latin)
    filler_cjk = staticmethod(filler_cjk)
    verbatim = staticmethod(verbatim)
    reformatted = staticmethod(reformatted)
    partial = staticmethod(partial)
    write_jsonl = staticmethod(lambda path, texts: write_jsonl(path, texts))
    long_questions = staticmethod(lambda questions, minimum: long_questions(questions, minimum))


@pytest.fixture(scope="session")
def corpora() -> type[Corpora]:
    return Corpora


@pytest.fixture(scope="session")
def mmlu(data_dir: Path) -> dict[str, list[Question]]:
    return load_benchmark("mmlu", str(data_dir), subjects=["anatomy", "astronomy"])[1]


@pytest.fixture(scope="session")
def ceval(data_dir: Path) -> dict[str, list[Question]]:
    return load_benchmark("ceval", str(data_dir), subjects=["accountant", "high_school_history"])[1]


def long_questions(questions: dict[str, list[Question]], minimum: int, n: int = 13) -> list[Question]:
    """Questions of at least `minimum` units that share no n-unit run with another question (MMLU has repeated
    questions, e.g. astronomy/92 and /128: a copy of one is rightly a copy of the other)."""
    grams: dict[tuple[str, ...], set[str]] = {}
    all_questions = [q for items in questions.values() for q in items]
    for q in all_questions:
        u = units(q.question)
        for i in range(len(u) - n + 1):
            grams.setdefault(tuple(u[i:i + n]), set()).add(q.id)
    shared = {qid for ids in grams.values() if len(ids) > 1 for qid in ids}
    return [q for q in all_questions if len(units(q.question)) >= minimum and q.id not in shared]


def write_jsonl(path: Path, texts: list[str]) -> Path:
    with open(path, "w", encoding="utf-8") as handle:
        for text in texts:
            handle.write(json.dumps({"text": text}, ensure_ascii=False) + "\n")
    return path
