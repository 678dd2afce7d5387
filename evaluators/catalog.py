"""The catalog of benchmarks (read from `datasets/*.yaml`) and prompt templates (`evaluators.templates`) the
service offers, and the default context length.

Pure and light (no torch): `app/` and `cbench/` use it to list choices and to reject a bad request early with a
one-line message that names the valid choices.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path

from evaluators.dataset_spec import DatasetSpec, load_spec_file
from evaluators.templates import TEMPLATES

BENCHMARKS: tuple[str, ...] = ("mmlu", "cmmlu", "agieval", "gaokao", "ceval")
TEMPLATE_IDS: tuple[str, ...] = tuple(TEMPLATES)

DEFAULT_MAX_LENGTH = 4096
"""The model context length L of scoring.md §2.3 (shot budget and truncation) when a request names none."""

DATASETS_DIR = Path(__file__).resolve().parent.parent / "datasets"


def _check_benchmark(name: str) -> None:
    if name not in BENCHMARKS:
        raise ValueError(f"unknown benchmark {name!r}; valid: {', '.join(BENCHMARKS)}")


@cache
def load_spec(name: str) -> DatasetSpec:
    """The validated spec of one benchmark (cached; specs are immutable)."""
    _check_benchmark(name)
    spec = load_spec_file(DATASETS_DIR / f"{name}.yaml")
    if spec.name != name:
        raise ValueError(f"dataset spec {name}.yaml names itself {spec.name!r}")
    return spec


def scored_subjects(name: str) -> tuple[str, ...]:
    """Keys of the scored subjects of a benchmark, in file-name order."""
    return tuple(s.key for s in load_spec(name).subjects)


def expected_count(name: str, subjects: Iterable[str] | None = None) -> int:
    """Expected number of questions in the scored split, for all subjects or the given ones."""
    spec = load_spec(name)
    if subjects is None:
        return spec.expected_n
    return sum(spec.subject(key).counts[spec.eval_split] for key in subjects)


def validate_request(
    benchmarks: str | Iterable[str], template: str, subjects: Iterable[str] | None = None
) -> None:
    """Raise `ValueError` (one line, naming the valid choices) for an unknown benchmark, template or subject.

    A subject is valid when it is a scored subject of at least one of the requested benchmarks.
    """
    names = [benchmarks] if isinstance(benchmarks, str) else list(benchmarks)
    if not names:
        raise ValueError(f"no benchmark given; valid: {', '.join(BENCHMARKS)}")
    for name in names:
        _check_benchmark(name)
    if template not in TEMPLATE_IDS:
        raise ValueError(f"unknown template {template!r}; valid: {', '.join(TEMPLATE_IDS)}")
    if subjects is None:
        return
    valid = [key for name in names for key in scored_subjects(name)]
    unknown = [key for key in subjects if key not in valid]
    if unknown:
        raise ValueError(
            f"unknown subject(s) {', '.join(map(repr, unknown))} for {', '.join(names)}; valid: {', '.join(valid)}"
        )


def chance_level(name: str) -> float:
    """Accuracy in percent of answering uniformly at random: 100 / number of candidate letters."""
    return 100.0 / len(load_spec(name).letters)


def planned_count(name: str, subjects: Iterable[str] | None = None, limit: int | None = None) -> int:
    """Questions a run will score: the scored split of the subjects (all when None), at most `limit` each."""
    spec = load_spec(name)
    keys = list(subjects) if subjects is not None else [s.key for s in spec.subjects]
    counts = [spec.subject(key).counts[spec.eval_split] for key in keys]
    return sum(min(count, limit) if limit is not None else count for count in counts)
