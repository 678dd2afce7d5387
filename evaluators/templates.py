"""Prompt templates: how a `Question` becomes a header, a test item string and a shot string.

Three templates with stable ids (scoring.md §0, §2, §7):

- `colossaleval` (= ColossalEval `dec2023`, the service default): per-dataset, per-subject headers.
- `colossaleval-2023-09` (= `sep2023`): language-only headers; AGIEval demos get an extra trailing "\\n".
- `harness`: lm-evaluation-harness 0.4.x MMLU layout, reused for the other four-choice benchmarks.

A template only renders strings; joining them under the shot budget is `evaluators.prompting`, and turning the
candidate strings into token ids is `evaluators.scoring`. Each template also names its scoring method and its
tokenizer policy so the run loop can pick them without knowing template ids.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from evaluators.records import Question

#: AGIEval subsets whose prompts are English (ColossalEval `english_qa_datasets`); all others are Chinese.
AGIEVAL_ENGLISH = frozenset({"logiqa-en", "sat-math", "sat-en", "sat-en-without-passage", "gaokao-english"})

_EN_EXAM = "The following are answers for questions in an exam."
_ZH_EXAM = "以下是考试中各个问题的答案。"


def is_english(question: Question) -> bool:
    """True for MMLU and the English AGIEval subsets (the only English prompts of the ColossalEval templates)."""
    return question.benchmark == "mmlu" or (question.benchmark == "agieval" and question.subject in AGIEVAL_ENGLISH)


def _option_lines(options: tuple[str, ...], letters: tuple[str, ...]) -> str:
    return "".join(f"\n{letter}. {text}" for letter, text in zip(letters, options, strict=True))


# --- ColossalEval item and shot strings (§2.1), shared by both header variants -------------------------------


def colossal_item(question: Question) -> str:
    """The test item string `q` of §2.1 (the prompt ends with it)."""
    bench = question.benchmark
    if bench == "mmlu":
        return f"Question: {question.question}{_option_lines(question.options, question.letters)}\nAnswer: "
    if bench in ("cmmlu", "ceval"):
        return f"题目：{question.question}{_option_lines(question.options, question.letters)}\n答案："
    if bench == "agieval":
        opts = " ".join(question.options)
        if is_english(question):
            body = f"Question: {question.question} Choose from the following options: {opts}\nAnswer: "
        else:
            body = f"问题：{question.question} 从以下选项中选择：{opts}\n答案："
        return f"{question.passage}\n\n{body}" if question.passage else body
    if bench == "gaokao":
        return f"{question.question.strip()}\n答案："
    raise ValueError(f"no ColossalEval item format for benchmark {bench!r}")


def colossal_shot(question: Question) -> str:
    """One demonstration string of §2.1 (item + gold letter); AGIEval demos use their own layout."""
    if question.benchmark == "agieval":
        opts = " ".join(question.options)
        if is_english(question):
            return (
                f"Question: {question.passage} {question.question}\n"
                f"Choose from the following options: {opts}\nAnswer: {question.gold}"
            )
        return f"问题：{question.passage} {question.question}\n从以下选项中选择：{opts}\n答案：{question.gold}"
    if question.benchmark == "gaokao":
        raise ValueError("GAOKAO-Bench is zero-shot; it has no shot format")
    return colossal_item(question) + question.gold


def _shot_sep2023(question: Question) -> str:
    shot = colossal_shot(question)
    return shot + "\n" if question.benchmark == "agieval" else shot


def header_dec2023(question: Question) -> str | None:
    """The `dec2023` header line H (§2.2); None for zero-shot GAOKAO."""
    bench, name = question.benchmark, question.subject_display
    if bench == "mmlu":
        return f"The following are multiple choice questions (with answers) about {name}."
    if bench == "cmmlu":
        return f"以下是关于{name}的单项选择题，请直接给出正确答案的选项。"
    if bench == "ceval":
        return f"以下是中国关于{name}考试的单项选择题，请选出其中的正确答案。"
    if bench == "agieval":
        return "Here are the answers for the problems in the exam." if is_english(question) else _ZH_EXAM
    if bench == "gaokao":
        return None
    raise ValueError(f"no header for benchmark {bench!r}")


def header_sep2023(question: Question) -> str | None:
    """The `sep2023` header line H (§2.2): depends on the prompt language only; None for GAOKAO."""
    if question.benchmark == "gaokao":
        return None
    if question.benchmark not in ("mmlu", "cmmlu", "ceval", "agieval"):
        raise ValueError(f"no header for benchmark {question.benchmark!r}")
    return _EN_EXAM if is_english(question) else _ZH_EXAM


# --- lm-evaluation-harness layout (§7) -------------------------------------------------------------------------


def _strip_option_prefix(text: str, letter: str) -> str:
    prefix = f"({letter})"
    return text[len(prefix) :] if text.startswith(prefix) else text


def harness_item(question: Question) -> str:
    """`{question.strip()}\\nA. {A}...\\nAnswer:` (no trailing space). AGIEval: passage first, "(A)" prefixes
    removed from the options (demos whose options are not one per letter list them as stored, one per
    line); GAOKAO: the options are already inline in the question text."""
    text = question.question.strip()
    if question.benchmark == "agieval" and question.passage:
        text = f"{question.passage.strip()}\n{text}"
    if question.benchmark == "gaokao":
        return f"{text}\nAnswer:"
    options = question.options
    if question.benchmark == "agieval":
        if len(options) != len(question.letters):  # a few demos store the options in one or three strings
            return text + "".join(f"\n{o}" for o in options) + "\nAnswer:"
        options = tuple(_strip_option_prefix(o, c) for o, c in zip(options, question.letters, strict=True))
    return f"{text}{_option_lines(options, question.letters)}\nAnswer:"


def harness_shot(question: Question) -> str:
    """A harness shot: item + target delimiter " " + gold letter."""
    return f"{harness_item(question)} {question.gold}"


def harness_header(question: Question) -> str:
    """The harness description without its trailing "\\n\\n". MMLU uses the lower-case subject key with spaces
    (= `name` in mmlu/mapping.json); other benchmarks use their display names."""
    subject = question.subject.replace("_", " ").lower() if question.benchmark == "mmlu" else question.subject_display
    return f"The following are multiple choice questions (with answers) about {subject}."


# --- the registry ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Template:
    """A prompt template: the string renderers plus how its prompts are tokenized and scored."""

    id: str
    header_variant: str  # "dec2023" | "sep2023" | "harness", stored with every result (§0)
    scoring_method: str  # "max_logit" (ColossalEval first-token max over two ids) | "logprob" (harness)
    tokenizer_policy: str  # "sentencepiece" (SentencePiece semantics, §3.5) | "hf" (the loaded HF tokenizer)
    header: Callable[[Question], str | None]  # header line H without "\n\n"; None: no header (zero-shot only)
    item: Callable[[Question], str]  # the test item string q
    shot: Callable[[Question], str]  # one demonstration (item + gold)
    shot_budget: bool  # drop shots by the §2.3 token budget (ColossalEval); harness keeps all shots
    header_when_zero_shot: bool  # zero-shot prompt = H + "\n\n" + q (harness) instead of q (ColossalEval)

    def candidate_strings(self, letter: str) -> tuple[str, ...]:
        """Strings whose ids score `letter`: ColossalEval reads the LAST id of each of "Answer: c" and "答案：c"
        (§3.1); the harness scores the continuation " c" after the context (§7)."""
        if len(letter) != 1:
            raise ValueError(f"class {letter!r} is not a single character; first-token scoring needs one")
        if self.scoring_method == "max_logit":
            return (f"Answer: {letter}", f"答案：{letter}")
        return (f" {letter}",)


TEMPLATES: dict[str, Template] = {template.id: template for template in (
    Template(
        id="colossaleval",
        header_variant="dec2023",
        scoring_method="max_logit",
        tokenizer_policy="sentencepiece",
        header=header_dec2023,
        item=colossal_item,
        shot=colossal_shot,
        shot_budget=True,
        header_when_zero_shot=False,
    ),
    Template(
        id="colossaleval-2023-09",
        header_variant="sep2023",
        scoring_method="max_logit",
        tokenizer_policy="sentencepiece",
        header=header_sep2023,
        item=colossal_item,
        shot=_shot_sep2023,
        shot_budget=True,
        header_when_zero_shot=False,
    ),
    Template(
        id="harness",
        header_variant="harness",
        scoring_method="logprob",
        tokenizer_policy="hf",
        header=harness_header,
        item=harness_item,
        shot=harness_shot,
        shot_budget=False,
        header_when_zero_shot=True,
    ),
)}
"""The templates by id (scoring.md §0): ColossalEval `dec2023`, ColossalEval `sep2023`, lm-evaluation-harness."""

DEFAULT_TEMPLATE = "colossaleval"
"""The template a job, a checkpoint registration and `cbench eval` use when none is named."""


def get_template(template_id: str) -> Template:
    """The template called `template_id`; ValueError naming the valid ids otherwise."""
    try:
        return TEMPLATES[template_id]
    except KeyError:
        raise ValueError(f"unknown template {template_id!r}; valid: {', '.join(TEMPLATES)}") from None
