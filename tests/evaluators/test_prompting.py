"""Prompt assembly (scoring.md §2.3, §2.4, §7): golden first prompts per benchmark and template, the shot budget,
middle truncation and the harness's left truncation.

Goldens are derived independently of the code under test: the MMLU files in golden/ were written by hand, the
others are spelled out below from the raw files with the literal strings of the spec's tables.
"""

from __future__ import annotations

import ast
import csv
import hashlib
import json
from pathlib import Path

import pytest
import sentencepiece as spm

from evaluators import catalog
from evaluators.loaders import load_questions, load_shots
from evaluators.prompting import (
    assemble_prompt,
    build_prompts,
    harness_truncate,
    middle_truncate,
    subject_prefix,
)
from evaluators.records import Question
from evaluators.templates import get_template

GOLDEN = Path(__file__).parent / "golden"
L = 4096


@pytest.fixture(scope="module")
def sp(data_dir) -> spm.SentencePieceProcessor:
    return spm.SentencePieceProcessor(model_file=str(data_dir / "tokenizers/llama2/tokenizer.model"))


@pytest.fixture(scope="module")
def count_tokens(sp):
    return lambda text: len(sp.encode(text)) + 1  # n(x): BOS prepended, no EOS


def first_prompt(data_dir, benchmark, subject, template_id, count_tokens, max_length=L):
    spec = catalog.load_spec(benchmark)
    question = load_questions(spec, data_dir, subjects=[subject])[subject][0]
    shots = load_shots(spec, data_dir, subject)
    return assemble_prompt(
        question, shots, get_template(template_id), count_tokens=count_tokens, max_length=max_length
    )


def raw_csv(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [[f.replace("\r\n", "\n").replace("\r", "\n") for f in row] for row in csv.reader(handle)]


# --- golden prompts ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("template_id", catalog.TEMPLATE_IDS)
def test_golden_mmlu(template_id, data_dir, count_tokens):
    expected = (GOLDEN / f"mmlu_abstract_algebra.{template_id}.txt").read_bytes()
    prompt = first_prompt(data_dir, "mmlu", "abstract_algebra", template_id, count_tokens)
    assert prompt.text.encode("utf-8") == expected
    assert prompt.shots_used == prompt.shots_available == 5
    assert prompt.sha256 == hashlib.sha256(expected).hexdigest()


@pytest.mark.parametrize(
    ("template_id", "header"),
    [
        ("colossaleval", "以下是关于农学的单项选择题，请直接给出正确答案的选项。"),
        ("colossaleval-2023-09", "以下是考试中各个问题的答案。"),
        ("harness", "The following are multiple choice questions (with answers) about 农学."),
    ],
)
def test_golden_cmmlu(template_id, header, data_dir, count_tokens):
    dev = raw_csv(data_dir / "cmmlu/data/dev/agronomy.csv")[1:]
    test = raw_csv(data_dir / "cmmlu/data/test/agronomy.csv")[1]
    if template_id == "harness":
        shots = [f"{r[1].strip()}\nA. {r[2]}\nB. {r[3]}\nC. {r[4]}\nD. {r[5]}\nAnswer: {r[6]}" for r in dev]
        item = f"{test[1].strip()}\nA. {test[2]}\nB. {test[3]}\nC. {test[4]}\nD. {test[5]}\nAnswer:"
    else:
        shots = [f"题目：{r[1]}\nA. {r[2]}\nB. {r[3]}\nC. {r[4]}\nD. {r[5]}\n答案：{r[6]}" for r in dev]
        item = f"题目：{test[1]}\nA. {test[2]}\nB. {test[3]}\nC. {test[4]}\nD. {test[5]}\n答案："
    expected = header + "\n\n" + "".join(s + "\n\n" for s in shots) + item
    assert first_prompt(data_dir, "cmmlu", "agronomy", template_id, count_tokens).text == expected


@pytest.mark.parametrize(
    ("template_id", "header"),
    [
        ("colossaleval", "以下是中国关于注册会计师考试的单项选择题，请选出其中的正确答案。"),
        ("colossaleval-2023-09", "以下是考试中各个问题的答案。"),
    ],
)
def test_golden_ceval_val(template_id, header, data_dir, count_tokens):
    dev = raw_csv(data_dir / "ceval/dev/accountant_dev.csv")[1:]
    test = raw_csv(data_dir / "ceval/val/accountant_val.csv")[1]
    shots = [f"题目：{r[1]}\nA. {r[2]}\nB. {r[3]}\nC. {r[4]}\nD. {r[5]}\n答案：{r[6]}" for r in dev]
    item = f"题目：{test[1]}\nA. {test[2]}\nB. {test[3]}\nC. {test[4]}\nD. {test[5]}\n答案："
    budget = L - count_tokens(item + test[6])
    prefix = header + "\n\n"
    accepted = None
    for shot in shots:  # the long C-Eval accountant dev rows make the budget matter only for tiny L; check it
        prefix += shot + "\n\n"
        if count_tokens(prefix) > budget:
            break
        accepted = prefix
    assert accepted == header + "\n\n" + "".join(s + "\n\n" for s in shots)
    assert first_prompt(data_dir, "ceval", "accountant", template_id, count_tokens).text == accepted + item


def agieval_demos(data_dir: Path, column: str) -> list[dict]:
    rows = raw_csv(data_dir / "agieval/data/few_shot_prompts.csv")
    col = rows[0].index(column)
    samples = [ast.literal_eval(r[col]) for r in rows[1:] if r[0].startswith("sample") and r[col]]
    explanations = [r[col] for r in rows[1:] if r[0].startswith("explanation") and r[col]]
    return samples[: len(explanations)]


def test_golden_agieval_english(data_dir, count_tokens):
    demos = agieval_demos(data_dir, "sat-math")
    assert len(demos) == 5
    line = json.loads((data_dir / "agieval/data/v1/sat-math.jsonl").read_text(encoding="utf-8").splitlines()[0])
    shots = [
        f"Question: {d['passage'] or ''} {d['question']}\nChoose from the following options: "
        f"{' '.join(d['options'])}\nAnswer: {d['label']}"
        for d in demos
    ]
    item = f"Question: {line['question']} Choose from the following options: {' '.join(line['options'])}\nAnswer: "
    if line["passage"]:
        item = line["passage"] + "\n\n" + item
    dec = "Here are the answers for the problems in the exam.\n\n" + "".join(s + "\n\n" for s in shots) + item
    sep = "The following are answers for questions in an exam.\n\n" + "".join(s + "\n\n\n" for s in shots) + item
    assert first_prompt(data_dir, "agieval", "sat-math", "colossaleval", count_tokens).text == dec
    assert first_prompt(data_dir, "agieval", "sat-math", "colossaleval-2023-09", count_tokens).text == sep


def test_golden_agieval_chinese_with_passage(data_dir, count_tokens):
    demos = agieval_demos(data_dir, "logiqa-zh")
    line = json.loads((data_dir / "agieval/data/v1/logiqa-zh.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert line["passage"]  # the test item's passage goes first, followed by a blank line
    shots = [
        f"问题：{d['passage'] or ''} {d['question']}\n从以下选项中选择：{' '.join(d['options'])}\n答案：{d['label']}"
        for d in demos
    ]
    item = f"{line['passage']}\n\n问题：{line['question']} 从以下选项中选择：{' '.join(line['options'])}\n答案："
    expected = "以下是考试中各个问题的答案。\n\n" + "".join(s + "\n\n" for s in shots[:3]) + item
    prompt = first_prompt(data_dir, "agieval", "logiqa-zh", "colossaleval", count_tokens)
    assert prompt.text == expected
    assert prompt.shots_used == 3


def test_golden_gaokao_zero_shot(data_dir, count_tokens):
    raw = json.loads((data_dir / "gaokao/Data/Objective_Questions/2010-2022_Math_I_MCQs.json").read_text("utf-8"))
    question = raw["example"][0]["question"]
    for template_id in ("colossaleval", "colossaleval-2023-09"):
        prompt = first_prompt(data_dir, "gaokao", "2010-2022_Math_I_MCQs", template_id, count_tokens)
        assert prompt.text == question.strip() + "\n答案："
        assert (prompt.prefix, prompt.shots_used, prompt.gold) == ("", 0, "D")
    harness = first_prompt(data_dir, "gaokao", "2010-2022_Math_I_MCQs", "harness", count_tokens)
    assert harness.text == (
        "The following are multiple choice questions (with answers) about Math I MCQs.\n\n"
        + question.strip()
        + "\nAnswer:"
    )


# --- shot budget (§2.3) -----------------------------------------------------------------------------------------


def q(text: str, gold: str = "A", subject: str = "s") -> Question:
    return Question(
        benchmark="mmlu", subject=subject, subject_display="S", index=0, question=text,
        options=("a", "b", "c", "d"), letters=("A", "B", "C", "D"), gold=gold,
    )


def test_budget_stops_at_first_overflow():
    template = get_template("colossaleval")
    shots = [q("x" * 10), q("y" * 500), q("z")]
    test = q("t")
    count_chars = len  # a 1-character = 1-token counter makes the budget arithmetic visible
    budget_l = count_chars(template.item(test) + "A") + count_chars(
        template.header(test) + "\n\n" + template.shot(shots[0]) + "\n\n"
    )
    prompt = assemble_prompt(test, shots, template, count_tokens=count_chars, max_length=budget_l)
    assert prompt.shots_used == 1
    assert prompt.text == template.header(test) + "\n\n" + template.shot(shots[0]) + "\n\n" + template.item(test)


def test_budget_keeps_header_and_first_shot_when_even_that_overflows(count_tokens):
    template = get_template("colossaleval")
    shots = [q("first shot"), q("second shot")]
    prompt = assemble_prompt(q("test"), shots, template, count_tokens=count_tokens, max_length=5)
    assert prompt.shots_used == 1 and prompt.shots_available == 2
    assert prompt.prefix == template.header(q("test")) + "\n\n" + template.shot(shots[0]) + "\n\n"


def test_budget_drops_shots_from_the_end_on_real_data(data_dir, count_tokens):
    full = first_prompt(data_dir, "mmlu", "abstract_algebra", "colossaleval", count_tokens)
    spec = catalog.load_spec("mmlu")
    shots = load_shots(spec, data_dir, "abstract_algebra")
    template = get_template("colossaleval")
    test = load_questions(spec, data_dir, subjects=["abstract_algebra"])["abstract_algebra"][0]
    # L such that header + 3 shots fit exactly: budget = L - n(q + t) = n(header + 3 shots)
    three = template.header(test) + "\n\n" + "".join(template.shot(s) + "\n\n" for s in shots[:3])
    max_length = count_tokens(three) + count_tokens(template.item(test) + test.gold)
    prompt = assemble_prompt(test, shots, template, count_tokens=count_tokens, max_length=max_length)
    assert prompt.shots_used == 3
    assert prompt.text == three + template.item(test)
    assert full.text.startswith(three) and full.shots_used == 5
    one_less = assemble_prompt(test, shots, template, count_tokens=count_tokens, max_length=max_length - 1)
    assert one_less.shots_used == 2


def test_budget_needs_a_tokenizer():
    with pytest.raises(ValueError, match="count_tokens"):
        assemble_prompt(q("t"), [q("s")], get_template("colossaleval"), count_tokens=None, max_length=None)


def test_harness_keeps_every_shot_without_a_tokenizer():
    shots = [q("s1", "B"), q("s2", "C")]
    prompt = assemble_prompt(q("t"), shots, get_template("harness"), count_tokens=None, max_length=None)
    assert prompt.text == (
        "The following are multiple choice questions (with answers) about s.\n\n"
        "s1\nA. a\nB. b\nC. c\nD. d\nAnswer: B\n\ns2\nA. a\nB. b\nC. c\nD. d\nAnswer: C\n\n"
        "t\nA. a\nB. b\nC. c\nD. d\nAnswer:"
    )


def test_subject_prefix_and_build_prompts(count_tokens):
    template = get_template("colossaleval")
    shots = {"s": [q("s1", "B"), q("s2", "C")]}
    questions = [q("t1"), q("t2", "D")]
    prompts = build_prompts(questions, shots, template, count_tokens=count_tokens, max_length=L)
    prefix = subject_prefix(questions[0], shots["s"], template)
    assert [p.prefix for p in prompts] == [prefix, prefix]
    assert prompts[1] == assemble_prompt(questions[1], shots["s"], template, count_tokens=count_tokens, max_length=L)
    assert prompts[1].question_id == "s/0" and prompts[1].gold == "D"


# --- over-length rules (§2.4, §7) ------------------------------------------------------------------------------


def chars_encode(text: str) -> list[int]:
    return [ord(c) for c in text]


def chars_decode(ids) -> str:
    return "".join(chr(i) for i in ids)


def test_middle_truncation_keeps_half_of_l_minus_32_from_each_end():
    ids = chars_encode("abcdefghijklmnopqrstuvwxyz" * 4)  # 104 ids
    out, truncated = middle_truncate(
        ids, max_length=82, encode=chars_encode, decode=chars_decode, truncate_left=False
    )
    h = (82 - 32) // 2
    assert truncated and h == 25
    assert out == ids[:h] + ids[-h:]


def test_middle_truncation_leaves_short_prompts_alone():
    ids = list(range(50))
    assert middle_truncate(ids, max_length=82, encode=chars_encode, decode=chars_decode, truncate_left=True) == (
        ids,
        False,
    )


@pytest.mark.parametrize("truncate_left", [True, False])
def test_middle_truncation_cuts_reencoded_text_to_the_limit(truncate_left):
    def encode_with_bos(text):
        return [0, *chars_encode(text), 1]

    ids = chars_encode("x" * 30 + "y" * 30)
    out, _ = middle_truncate(
        ids, max_length=51, encode=encode_with_bos, decode=chars_decode, truncate_left=truncate_left
    )
    # limit 19, h = 9: re-encoding gives 0 + 9 x + 9 y + 1 = 20 ids, one over the limit
    assert len(out) == 19
    assert out == ([*chars_encode("x" * 9 + "y" * 9), 1] if truncate_left else [0, *chars_encode("x" * 9 + "y" * 9)])


def test_middle_truncation_with_sentencepiece(sp):
    text = " ".join(f"word{i}" for i in range(300))
    ids = [1, *sp.encode(text)]
    out, truncated = middle_truncate(
        ids, max_length=132, encode=lambda t: [1, *sp.encode(t)], decode=sp.decode, truncate_left=False
    )
    assert truncated and len(out) <= 100
    assert sp.decode(out).startswith(sp.decode(ids[:50])[:20])
    assert sp.decode(out).endswith(sp.decode(ids[-50:])[-20:])


def test_middle_truncation_rejects_tiny_l():
    with pytest.raises(ValueError):
        middle_truncate([1, 2, 3], max_length=33, encode=chars_encode, decode=chars_decode, truncate_left=False)


def test_harness_left_truncation():
    context, continuation = list(range(10)), [99]
    assert harness_truncate(context, continuation, max_length=20) == (context, False)
    assert harness_truncate(context, continuation, max_length=4) == ([6, 7, 8, 9], True)
    assert harness_truncate(context, [98, 99], max_length=4) == ([7, 8, 9, 98], True)
