"""Typed model of a benchmark definition file (`datasets/<name>.yaml`) and its validation.

A spec says where a benchmark's native files live (path patterns relative to the data directory, with a
`{subject}` placeholder), which split is scored and which one gives the shots, the subjects with their display
names and expected counts, the unscored subsets and why, and the sha256 of every file the benchmark reads.
The YAML holds plain data only (no expressions); `load_spec_file` turns a bad file into one `ValueError`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from evaluators.scoring import METRICS

FORMATS = ("mmlu_csv", "cmmlu_csv", "ceval_csv", "agieval_jsonl", "gaokao_json")

_KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"  # a subject key is a file stem: no separators, no "..".
_SHA256_PATTERN = r"^[0-9a-f]{64}$"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Paper(_Strict):
    title: str
    authors: str
    venue: str
    url: str


class Source(_Strict):
    """Where the files in the data directory were copied from (see shared/data/README.md)."""

    repo: str
    commit: str = Field(pattern=r"^[0-9a-f]{40}$")
    path: str
    note: str = ""


class SubjectSpec(_Strict):
    key: str = Field(pattern=_KEY_PATTERN)
    display: str = Field(min_length=1)
    category: str | None = None
    language: Literal["en", "zh"]
    counts: dict[str, int]  # expected questions per split, e.g. {"test": 100, "dev": 5}
    shots: int = Field(ge=0)  # expected number of shots (dev rows or AGIEval demos)
    demo_column: str | None = None  # AGIEval: demo column when it is not the subject key
    demo_passage: bool = True  # AGIEval: False blanks the demo passages (sat-en-without-passage)


class UnscoredSubset(_Strict):
    key: str
    reason: str = Field(min_length=1)


class FileEntry(_Strict):
    """One file the benchmark reads, with its checksum and question count (None: not a question file)."""

    path: str = Field(min_length=1)
    subject: str | None
    split: str
    sha256: str = Field(pattern=_SHA256_PATTERN)
    questions: int | None = Field(default=None, ge=0)


class DatasetSpec(_Strict):
    name: str = Field(pattern=r"^[a-z0-9_]+$")
    display_name: str
    description: str
    paper: Paper
    license: str
    languages: list[Literal["en", "zh"]]
    source: Source
    version: str
    format: Literal[FORMATS]  # loader key
    splits: dict[str, str]  # split -> path pattern relative to the data dir, with "{subject}"
    shots_file: str | None = None  # AGIEval: the few-shot CSV
    eval_split: str
    shot_split: str | None  # None: zero-shot; "demos": read from `shots_file`
    export_splits: list[str] = []
    unlabelled_splits: list[str] = []  # splits whose gold is "" (C-Eval test)
    letters: tuple[str, ...]
    metric: Literal[METRICS]  # the leaderboard metric
    stored_metrics: list[Literal[METRICS]]
    expected_n: int = Field(gt=0)
    subjects: list[SubjectSpec] = Field(min_length=1)
    unscored: list[UnscoredSubset] = []
    files: list[FileEntry] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> DatasetSpec:
        problems: list[str] = []
        for split, pattern in self.splits.items():
            if "{subject}" not in pattern or pattern.startswith("/") or ".." in Path(pattern).parts:
                problems.append(f"split {split!r}: pattern {pattern!r} must be relative and contain {{subject}}")
        for rel in [f.path for f in self.files] + ([self.shots_file] if self.shots_file else []):
            if rel.startswith("/") or ".." in Path(rel).parts:
                problems.append(f"file path {rel!r} must be relative to the data dir, without '..'")
        named = [self.eval_split, *self.export_splits, *self.unlabelled_splits]
        if self.shot_split not in (None, "demos"):
            named.append(self.shot_split)
        problems += [f"split {s!r} is not in splits" for s in named if s not in self.splits]
        if (self.shot_split == "demos") != (self.shots_file is not None):
            problems.append("shots_file is required exactly when shot_split is 'demos'")
        if self.metric not in self.stored_metrics:
            problems.append(f"metric {self.metric!r} is not in stored_metrics")
        if not self.letters or any(len(c) != 1 for c in self.letters):
            problems.append("letters must be single characters")
        keys = [s.key for s in self.subjects]
        if len(set(keys)) != len(keys):
            problems.append("duplicate subject keys")
        for subject in self.subjects:
            unknown = set(subject.counts) - set(self.splits)
            if unknown or self.eval_split not in subject.counts:
                problems.append(f"subject {subject.key!r}: counts must name known splits incl. {self.eval_split!r}")
        total = sum(s.counts.get(self.eval_split, 0) for s in self.subjects)
        if total != self.expected_n:
            problems.append(f"expected_n {self.expected_n} != sum of subject counts {total}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def subject(self, key: str) -> SubjectSpec:
        for subject in self.subjects:
            if subject.key == key:
                return subject
        raise ValueError(f"unknown {self.name} subject {key!r}")

    def split_path(self, split: str, subject: str) -> str:
        """The data-dir-relative path of one subject's file in one split."""
        if split not in self.splits:
            raise ValueError(f"unknown {self.name} split {split!r}; valid: {', '.join(self.splits)}")
        return self.splits[split].format(subject=subject)


def load_spec_file(path: Path) -> DatasetSpec:
    """Read and validate one benchmark YAML file; any problem is a `ValueError` naming the file."""
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"cannot read dataset spec {path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise ValueError(f"dataset spec {path}: expected a mapping at the top level")
    try:
        return DatasetSpec.model_validate(raw)
    except ValidationError as exc:
        details = "; ".join(f"{'.'.join(map(str, e['loc'])) or '<root>'}: {e['msg']}" for e in exc.errors())
        raise ValueError(f"invalid dataset spec {path}: {details}") from exc
