"""Check a data directory against the benchmark specs: every file's sha256 and its question count.

`verify` returns one problem line per bad or missing file (empty when all is well); the question counts are
re-read with the real loaders, so a file that hashes right but cannot be parsed is reported too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from evaluators import catalog
from evaluators.dataset_spec import DatasetSpec, FileEntry
from evaluators.loaders import load_file, load_shots, require_data_dir, resolve_data_path


@dataclass
class VerifyReport:
    files: int = 0  # files checked
    questions: int = 0  # questions counted in good files
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _count(spec: DatasetSpec, data_dir: Path, entry: FileEntry) -> int | None:
    """The number of questions (or, for the AGIEval demo file, of checked demos) the file yields."""
    if entry.split == "demos":
        for subject in spec.subjects:
            found = len(load_shots(spec, data_dir, subject.key))
            if found != subject.shots:
                raise ValueError(f"{entry.path}: {found} demos for {subject.key}, expected {subject.shots}")
        return None
    if entry.subject is None:
        return None
    return len(load_file(spec, data_dir, entry.subject, entry.split))


def check_file(spec: DatasetSpec, data_dir: Path, entry: FileEntry) -> tuple[str | None, int]:
    """(problem or None, questions counted) for one file of a spec."""
    try:
        path = resolve_data_path(data_dir, entry.path)
    except ValueError:
        return f"{entry.path}: missing", 0
    actual = sha256_file(path)
    if actual != entry.sha256:
        return f"{entry.path}: sha256 mismatch (expected {entry.sha256[:12]}…, found {actual[:12]}…)", 0
    try:
        count = _count(spec, data_dir, entry)
    except ValueError as exc:
        return f"{entry.path}: unreadable: {exc}", 0
    if entry.questions is not None and count != entry.questions:
        return f"{entry.path}: {count} questions, expected {entry.questions}", 0
    return None, count or 0


def verify(data_dir: Path | str, benchmarks: Iterable[str] = catalog.BENCHMARKS) -> VerifyReport:
    """Check every file of the given benchmarks; a missing data directory is a `ValueError`."""
    data_dir = require_data_dir(data_dir)
    report = VerifyReport()
    for name in benchmarks:
        spec = catalog.load_spec(name)
        for entry in spec.files:
            problem, count = check_file(spec, data_dir, entry)
            report.files += 1
            report.questions += count
            if problem:
                report.problems.append(f"{name}: {problem}")
    return report
