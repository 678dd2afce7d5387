"""Templates: registry, per-benchmark item/shot strings (scoring.md §2.1, §2.2, §7) and rendering of real data."""

from __future__ import annotations

import pytest

from evaluators import catalog
from evaluators.loaders import load_questions, load_shots
from evaluators.records import Question
from evaluators.templates import TEMPLATES, get_template


def make_question(benchmark: str, subject: str, **fields) -> Question:
    base = dict(
        benchmark=benchmark, subject=subject, subject_display=fields.pop("display", subject), index=0,
        question="Q?", options=("a", "b", "c", "d"), letters=("A", "B", "C", "D"), gold="B",
    )
    base.update(fields)
    return Question(**base)


def test_registry_matches_catalog_ids():
    assert tuple(TEMPLATES) == catalog.TEMPLATE_IDS


def test_unknown_template_names_valid_ids():
    with pytest.raises(ValueError, match="colossaleval, colossaleval-2023-09, harness"):
        get_template("mmlu-5shot")


def test_template_properties():
    dec, sep, harness = (get_template(t) for t in catalog.TEMPLATE_IDS)
    assert (dec.header_variant, sep.header_variant, harness.header_variant) == ("dec2023", "sep2023", "harness")
    assert dec.scoring_method == sep.scoring_method == "max_logit"
    assert harness.scoring_method == "logprob"
    assert dec.tokenizer_policy == sep.tokenizer_policy == "sentencepiece"
    assert harness.tokenizer_policy == "hf"
    assert dec.candidate_strings("C") == ("Answer: C", "答案：C")
    assert harness.candidate_strings("C") == (" C",)
    with pytest.raises(ValueError):
        dec.candidate_strings("AB")


def test_mmlu_item_and_shot_strings():
    q = make_question("mmlu", "abstract_algebra", display="Abstract Algebra", question=" Lead space")
    dec = get_template("colossaleval")
    assert dec.item(q) == "Question:  Lead space\nA. a\nB. b\nC. c\nD. d\nAnswer: "
    assert dec.shot(q) == "Question:  Lead space\nA. a\nB. b\nC. c\nD. d\nAnswer: B"
    assert dec.header(q) == "The following are multiple choice questions (with answers) about Abstract Algebra."
    assert get_template("colossaleval-2023-09").header(q) == "The following are answers for questions in an exam."
    harness = get_template("harness")
    assert harness.item(q) == "Lead space\nA. a\nB. b\nC. c\nD. d\nAnswer:"
    assert harness.shot(q) == "Lead space\nA. a\nB. b\nC. c\nD. d\nAnswer: B"
    assert harness.header(q) == "The following are multiple choice questions (with answers) about abstract algebra."


@pytest.mark.parametrize("benchmark", ["cmmlu", "ceval"])
def test_chinese_item_strings(benchmark):
    q = make_question(benchmark, "agronomy", display="农学", question="问？")
    assert get_template("colossaleval").item(q) == "题目：问？\nA. a\nB. b\nC. c\nD. d\n答案："
    assert get_template("colossaleval").shot(q) == "题目：问？\nA. a\nB. b\nC. c\nD. d\n答案：B"
    assert get_template("colossaleval-2023-09").header(q) == "以下是考试中各个问题的答案。"


def test_chinese_headers_dec2023():
    dec = get_template("colossaleval")
    assert dec.header(make_question("cmmlu", "agronomy", display="农学")) == "以下是关于农学的单项选择题，请直接给出正确答案的选项。"
    assert dec.header(make_question("ceval", "accountant", display="注册会计师")) == (
        "以下是中国关于注册会计师考试的单项选择题，请选出其中的正确答案。"
    )


def test_agieval_passage_rules():
    dec = get_template("colossaleval")
    opts = ("(A)a", "(B)b", "(C)c", "(D)d")
    en_no_passage = make_question("agieval", "sat-math", options=opts)
    assert dec.item(en_no_passage) == "Question: Q? Choose from the following options: (A)a (B)b (C)c (D)d\nAnswer: "
    # A demo always inserts the passage: an empty one leaves two spaces.
    assert dec.shot(en_no_passage) == (
        "Question:  Q?\nChoose from the following options: (A)a (B)b (C)c (D)d\nAnswer: B"
    )
    zh = make_question("agieval", "logiqa-zh", options=opts, passage="文章", question="问？")
    assert dec.item(zh) == "文章\n\n问题：问？ 从以下选项中选择：(A)a (B)b (C)c (D)d\n答案："
    assert dec.shot(zh) == "问题：文章 问？\n从以下选项中选择：(A)a (B)b (C)c (D)d\n答案：B"
    assert dec.header(zh) == get_template("colossaleval-2023-09").header(zh) == "以下是考试中各个问题的答案。"
    assert dec.header(en_no_passage) == "Here are the answers for the problems in the exam."
    # sep2023 appends "\n" to every AGIEval demo, and only there.
    sep = get_template("colossaleval-2023-09")
    assert sep.shot(zh) == dec.shot(zh) + "\n"
    mmlu = make_question("mmlu", "x")
    assert sep.shot(mmlu) == dec.shot(mmlu)
    # harness: passage first, the "(A)" prefixes dropped
    assert get_template("harness").item(zh) == "文章\n问？\nA. a\nB. b\nC. c\nD. d\nAnswer:"


def test_gaokao_is_zero_shot_and_stripped():
    q = make_question("gaokao", "2010-2022_Math_I_MCQs", question="  题 A．1 B．2 C．3 D．4\n", options=())
    for template_id in ("colossaleval", "colossaleval-2023-09"):
        template = get_template(template_id)
        assert template.item(q) == "题 A．1 B．2 C．3 D．4\n答案："
        assert template.header(q) is None
        with pytest.raises(ValueError, match="zero-shot"):
            template.shot(q)
    assert get_template("harness").item(q) == "题 A．1 B．2 C．3 D．4\nAnswer:"


def test_unknown_benchmark_is_rejected():
    with pytest.raises(ValueError, match="benchmark"):
        get_template("colossaleval").item(make_question("nope", "x"))


@pytest.mark.parametrize("template_id", catalog.TEMPLATE_IDS)
@pytest.mark.parametrize("benchmark", catalog.BENCHMARKS)
def test_every_template_renders_every_benchmark(template_id, benchmark, data_dir):
    spec = catalog.load_spec(benchmark)
    subject = spec.subjects[0].key
    question = load_questions(spec, data_dir, subjects=[subject])[subject][0]
    shots = load_shots(spec, data_dir, subject)
    template = get_template(template_id)
    item = template.item(question)
    assert item.endswith(("Answer: ", "答案：", "Answer:"))
    for shot in shots:
        assert template.shot(shot).rstrip("\n").endswith(shot.gold)
    header = template.header(question)
    assert (header is None) == (benchmark == "gaokao" and template_id != "harness")
