"""The typed records that carry an evaluation from the data files to stored results.

A loader turns native benchmark rows into `Question`s; a template plus the prompt assembler turns a question and
its shots into a `Prompt`; a backend turns prompts into `CandidateScores`; scoring turns those into `Prediction`s;
aggregation turns predictions into a `BenchmarkSummary`. Everything here is plain data (frozen dataclasses with
JSON-friendly fields), so `app/` can store it and tests can build it by hand without torch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Question:
    """One multiple-choice item as read from a native benchmark file."""

    benchmark: str  # "mmlu", "cmmlu", "ceval", "agieval", "gaokao"
    subject: str  # file-level subject key, e.g. "abstract_algebra", "logiqa-en", "2010-2022_Biology_MCQs"
    subject_display: str  # display name used by the templates, e.g. "Abstract Algebra", "大学化学"
    index: int  # 0-based position of the item in its file (after skipping header rows)
    question: str  # question text, unstripped (loaders never strip, see scoring.md §1 rule 2)
    options: tuple[str, ...]  # option texts in letter order (AGIEval: as stored, with their "(A)" prefixes)
    letters: tuple[str, ...]  # class letters, e.g. ("A", "B", "C", "D")
    gold: str  # gold letter; "" when the split has no answers (C-Eval test)
    passage: str = ""  # AGIEval passage ("" when none)
    source_id: str = ""  # the id the native file gives (C-Eval "id"), else ""
    split: str = "test"

    @property
    def id(self) -> str:
        """Stable question id, unique within a benchmark: "<subject>/<index>"."""
        return f"{self.subject}/{self.index}"


@dataclass(frozen=True)
class Prompt:
    """A fully assembled prompt for one question, ready for tokenization and scoring."""

    question_id: str
    subject: str
    text: str  # the whole prompt string (prefix + item)
    prefix: str  # the shared few-shot prefix (header + accepted shots); "" for zero-shot
    gold: str
    letters: tuple[str, ...]
    shots_used: int
    shots_available: int
    sha256: str  # sha256 of `text` (utf-8)


@dataclass(frozen=True)
class CandidateScores:
    """What a backend returns for one prompt: a float32 score per class letter, plus optional greedy output."""

    scores: tuple[float, ...]  # in letter order
    output: str | None = None  # greedy generation (only where a metric needs it)
    truncated: bool = False  # middle truncation (scoring.md §2.4) was applied
    prefix_reused: bool = False  # the subject's KV prefix was reused for this prompt


@dataclass(frozen=True)
class Prediction:
    """The stored outcome for one question."""

    question_id: str
    subject: str
    gold: str
    pred: str
    scores: dict[str, float]
    correct: bool  # first-token metric
    prompt_sha256: str
    output: str | None = None  # greedy output (AGIEval / NaN rule)
    letter: str | None = None  # first-capital-letter rule applied to `output`
    correct_combined: bool | None = None  # AGIEval/GAOKAO combined metric (pred == gold or letter == gold)
    prompt: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Accuracy:
    """An accuracy in percent with its binomial standard error and a 95% interval (all in percent)."""

    correct: int
    n: int
    acc: float
    stderr: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class SubjectSummary:
    subject: str
    display: str
    accuracy: Accuracy


@dataclass(frozen=True)
class BenchmarkSummary:
    """Aggregated result of one benchmark run. `micro` is the headline (per-question average)."""

    benchmark: str
    metric: str  # "first_token" or "combined"
    n: int
    expected_n: int | None
    complete: bool  # n == expected_n; an overall score is published only when complete
    micro: Accuracy
    macro_acc: float  # unweighted mean of per-subject accuracies, labelled as such
    subjects: list[SubjectSummary] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
