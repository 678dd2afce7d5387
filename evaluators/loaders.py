"""Read native benchmark files into `Question`s, exactly as ColossalEval reads them (scoring.md §1, §2.1).

One small reader per native format (`READERS`, keyed by the spec's `format`). Subjects come in sorted file-name
order, items and shots in file order. CSV fields get `\\r\\n` and lone `\\r` turned into `\\n` (what text-mode
reading does) and are never stripped; only the GAOKAO question is stripped. Every path is resolved inside the data
directory. A missing directory or file, or a corrupt row, is a `ValueError` naming the file (and row).
"""

from __future__ import annotations

import ast
import csv
import json
import re
import string
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from evaluators.dataset_spec import DatasetSpec
from evaluators.records import Question

ALL_LETTERS = "ABCDEFG"
_GAOKAO_OPTION = re.compile(r"([A-Z])(?:\. |．|\.)")


@dataclass(frozen=True)
class FileContext:
    """What a reader needs besides the path: the fields every `Question` of the file shares."""

    benchmark: str
    subject: str
    display: str
    split: str
    letters: tuple[str, ...]
    labelled: bool = True


# --------------------------------------------------------------------------------------------- paths


def require_data_dir(data_dir: Path | str) -> Path:
    """The resolved data directory; a `ValueError` with the way out when it does not exist."""
    root = Path(data_dir).resolve()
    if not root.is_dir():
        raise ValueError(
            f"data directory {root} does not exist; run `cbench data fetch --data-dir {root}` or set CBENCH_DATA_DIR"
        )
    return root


def resolve_data_path(data_dir: Path | str, relative: str) -> Path:
    """`data_dir / relative`, refusing paths that escape the data directory and missing files."""
    root = require_data_dir(data_dir)
    path = (root / relative).resolve()
    if not path.is_relative_to(root):
        raise ValueError(f"path {relative!r} escapes the data directory {root}")
    if not path.is_file():
        raise ValueError(f"missing data file {path}; run `cbench data fetch` or set CBENCH_DATA_DIR")
    return path


# --------------------------------------------------------------------------------------------- helpers


def _normalise(field: str) -> str:
    return field.replace("\r\n", "\n").replace("\r", "\n")


def _csv_rows(path: Path) -> list[tuple[int, list[str]]]:
    """(line number, normalised fields) for every row of a CSV file."""
    rows = []
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        try:
            for fields in reader:
                rows.append((reader.line_num, [_normalise(f) for f in fields]))
        except csv.Error as exc:
            raise ValueError(f"{path}: bad CSV near line {reader.line_num}: {exc}") from exc
        except UnicodeDecodeError as exc:
            raise ValueError(f"{path}: not UTF-8 text: {exc}") from exc
    return rows


def _check_width(path: Path, line: int, fields: list[str], width: int) -> None:
    if len(fields) != width:
        raise ValueError(f"{path}, row at line {line}: expected {width} columns, found {len(fields)}")


def _check_gold(path: Path, where: str, gold: object, ctx: FileContext) -> str:
    if not ctx.labelled:
        return ""
    if not isinstance(gold, str) or gold not in ctx.letters:
        raise ValueError(f"{path}, {where}: gold {gold!r} is not one of {', '.join(ctx.letters)}")
    return gold


def _unwrap(value: object) -> object:
    if isinstance(value, list) and len(value) == 1:
        return value[0]
    return value


def _question(ctx: FileContext, index: int, question: str, options: Iterable[str], gold: str, **extra) -> Question:
    return Question(
        benchmark=ctx.benchmark, subject=ctx.subject, subject_display=ctx.display, index=index,
        question=question, options=tuple(options), letters=ctx.letters, gold=gold, split=ctx.split, **extra,
    )


# --------------------------------------------------------------------------------------------- readers


def read_mmlu_csv(path: Path, ctx: FileContext) -> list[Question]:
    """No header; columns question, A, B, C, D, answer."""
    width = len(ctx.letters) + 2
    items = []
    for index, (line, row) in enumerate(_csv_rows(path)):
        _check_width(path, line, row, width)
        gold = _check_gold(path, f"row at line {line}", row[-1], ctx)
        items.append(_question(ctx, index, row[0], row[1:-1], gold))
    return items


def read_cmmlu_csv(path: Path, ctx: FileContext) -> list[Question]:
    """Header `,Question,A,B,C,D,Answer` skipped; column 0 is a row index."""
    width = len(ctx.letters) + 3
    items = []
    for index, (line, row) in enumerate(_csv_rows(path)[1:]):
        _check_width(path, line, row, width)
        gold = _check_gold(path, f"row at line {line}", row[-1], ctx)
        items.append(_question(ctx, index, row[1], row[2:-1], gold))
    return items


def read_ceval_csv(path: Path, ctx: FileContext) -> list[Question]:
    """Header `id,question,A,B,C,D[,answer[,explanation]]`; columns are taken by name."""
    rows = _csv_rows(path)
    if not rows:
        raise ValueError(f"{path}: empty file (expected a header row)")
    header = rows[0][1]
    needed = ["id", "question", *ctx.letters] + (["answer"] if ctx.labelled else [])
    missing = [name for name in needed if name not in header]
    if missing:
        raise ValueError(f"{path}: header lacks column(s) {', '.join(missing)}")
    col = {name: header.index(name) for name in needed}
    items = []
    for index, (line, row) in enumerate(rows[1:]):
        _check_width(path, line, row, len(header))
        gold = _check_gold(path, f"row at line {line}", row[col["answer"]] if ctx.labelled else "", ctx)
        options = [row[col[letter]] for letter in ctx.letters]
        items.append(_question(ctx, index, row[col["question"]], options, gold, source_id=row[col["id"]]))
    return items


def _agieval_item(path: Path, where: str, record: object, ctx: FileContext, index: int, passage: bool) -> Question:
    if not isinstance(record, dict) or not isinstance(record.get("options"), list):
        raise ValueError(f"{path}, {where}: expected an object with an 'options' list")
    gold = _unwrap(record.get("label") or record.get("answer"))
    gold = _check_gold(path, where, gold, ctx)
    text = (record.get("passage") or "") if passage else ""
    return _question(ctx, index, record.get("question") or "", record["options"], gold, passage=text)


def read_agieval_jsonl(path: Path, ctx: FileContext) -> list[Question]:
    """One JSON object per line; classes = the first len(options) letters, from the file's first line."""
    records = []
    with path.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                records.append((line_no, json.loads(line)))
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}, line {line_no}: bad JSON: {exc}") from exc
    if not records:
        return []
    first = records[0][1]
    if not isinstance(first, dict) or not isinstance(first.get("options"), list):
        raise ValueError(f"{path}, line {records[0][0]}: expected an object with an 'options' list")
    ctx = replace(ctx, letters=tuple(ALL_LETTERS[: len(first["options"])]))
    return [_agieval_item(path, f"line {n}", r, ctx, i, True) for i, (n, r) in enumerate(records)]


def gaokao_letters(question: str) -> tuple[str, ...]:
    """Letters found by `[A-Z]\\.␣`, `[A-Z]．` or `[A-Z]\\.`, deduplicated, sorted, cut at the first gap from A."""
    found = sorted(set(_GAOKAO_OPTION.findall(question)))
    letters: list[str] = []
    for expected, letter in zip(string.ascii_uppercase, found, strict=False):
        if letter != expected:
            break
        letters.append(letter)
    return tuple(letters)


def read_gaokao_json(path: Path, ctx: FileContext) -> list[Question]:
    """`{"keywords", "example": [...]}`; options inline in the (stripped) question; gold = answer[0]."""
    try:
        examples = json.loads(path.read_text(encoding="utf-8"))["example"]
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: bad GAOKAO-Bench JSON: {exc!r}") from exc
    if not examples:
        return []
    ctx = replace(ctx, letters=gaokao_letters(str(examples[0].get("question", ""))))
    items = []
    for index, example in enumerate(examples):
        gold = _check_gold(path, f"example {index}", _unwrap(example.get("answer")), ctx)
        items.append(_question(ctx, index, str(example.get("question", "")).strip(), (), gold))
    return items


READERS: dict[str, Callable[[Path, FileContext], list[Question]]] = {
    "mmlu_csv": read_mmlu_csv,
    "cmmlu_csv": read_cmmlu_csv,
    "ceval_csv": read_ceval_csv,
    "agieval_jsonl": read_agieval_jsonl,
    "gaokao_json": read_gaokao_json,
}


# --------------------------------------------------------------------------------------------- public API


def load_file(spec: DatasetSpec, data_dir: Path | str, subject: str, split: str) -> list[Question]:
    """All questions of one subject's file in one split."""
    info = spec.subject(subject)
    path = resolve_data_path(data_dir, spec.split_path(split, subject))
    labelled = split not in spec.unlabelled_splits
    ctx = FileContext(spec.name, subject, info.display, split, tuple(spec.letters), labelled)
    return READERS[spec.format](path, ctx)


def load_questions(
    spec: DatasetSpec, data_dir: Path | str, *, split: str | None = None, subjects: Iterable[str] | None = None
) -> dict[str, list[Question]]:
    """Questions per subject (default: every scored subject of the eval split), in sorted file-name order."""
    split = split or spec.eval_split
    keys = [s.key for s in spec.subjects] if subjects is None else list(subjects)
    for key in keys:
        spec.subject(key)  # raises for an unknown subject
    keys.sort(key=lambda key: spec.split_path(split, key))
    return {key: load_file(spec, data_dir, key, split) for key in keys}


def load_shots(spec: DatasetSpec, data_dir: Path | str, subject: str) -> list[Question]:
    """The few-shot examples of a subject in file order: dev rows, AGIEval demos, or none (zero-shot)."""
    if spec.shot_split is None:
        spec.subject(subject)
        return []
    if spec.shot_split == "demos":
        return load_agieval_demos(spec, data_dir, subject)
    return load_file(spec, data_dir, subject, spec.shot_split)


def load_agieval_demos(spec: DatasetSpec, data_dir: Path | str, subject: str) -> list[Question]:
    """Demos from the few-shot CSV: `sample k` cells (Python literals) paired in order with `explanation k`
    cells; empty cells are skipped, so a demo counts only when both exist."""
    info = spec.subject(subject)
    path = resolve_data_path(data_dir, spec.shots_file or "")
    rows = _csv_rows(path)
    if not rows:
        raise ValueError(f"{path}: empty file (expected a header row)")
    column_name = info.demo_column or subject
    if column_name not in rows[0][1]:
        raise ValueError(f"{path}: no demo column {column_name!r}")
    column = rows[0][1].index(column_name)
    samples: list[tuple[int, str]] = []
    explanations: list[str] = []
    for line, row in rows[1:]:
        cell = row[column] if column < len(row) else ""
        if not cell or not row:
            continue
        if row[0].startswith("sample"):
            samples.append((line, cell))
        elif row[0].startswith("explanation"):
            explanations.append(cell)
    ctx = FileContext(spec.name, subject, info.display, "demos", tuple(spec.letters))
    demos = []
    for index, ((line, cell), _explanation) in enumerate(zip(samples, explanations, strict=False)):
        try:
            record = ast.literal_eval(cell)
        except (ValueError, SyntaxError) as exc:
            raise ValueError(f"{path}, row at line {line}, column {column_name!r}: bad literal: {exc}") from exc
        where = f"row at line {line}, column {column_name!r}"
        demos.append(_agieval_item(path, where, record, ctx, index, info.demo_passage))
    return demos
