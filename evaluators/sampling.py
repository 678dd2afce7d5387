"""The early-estimate sample: a seeded, stratified sample of a benchmark's questions, scored before the rest.

Every subject contributes `ceil(fraction · N_s)` questions, at least `minimum` (all of them when it has fewer).
Which ones depends only on the benchmark, the question id and the seed: questions are ranked by
sha256(seed, benchmark, id), never by position or by model, so two checkpoints scored on the same benchmark get
the same sample (their sample results are paired question by question) and a resumed job gets the same order.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

SAMPLE_FRACTION = 0.10
SAMPLE_MINIMUM = 5
SAMPLE_SEED = "cbench-sample-v1"


@dataclass(frozen=True)
class SampleRule:
    """How large the per-subject sample is and which seed picks it."""

    fraction: float = SAMPLE_FRACTION  # share of every subject, in (0, 1]
    minimum: int = SAMPLE_MINIMUM  # questions per subject at least (all when a subject has fewer)
    seed: str = SAMPLE_SEED

    def __post_init__(self) -> None:
        if not 0.0 < self.fraction <= 1.0:
            raise ValueError(f"sample fraction must lie in (0, 1], got {self.fraction}")
        if self.minimum < 1:
            raise ValueError(f"sample minimum must be at least 1, got {self.minimum}")


def sample_size(population: int, rule: SampleRule) -> int:
    """Questions sampled from a subject of `population` questions: min(N, max(minimum, ceil(fraction · N)))."""
    share = Fraction(str(rule.fraction)) * population  # exact: 0.1 · 140 is 14, not 14.000000000000002
    return min(population, max(rule.minimum, math.ceil(share)))


def _rank(seed: str, benchmark: str, question_id: str) -> str:
    return hashlib.sha256(f"{seed}\0{benchmark}\0{question_id}".encode()).hexdigest()


def stratified_sample(benchmark: str, ids_by_subject: Mapping[str, Sequence[str]],
                      rule: SampleRule = SampleRule()) -> frozenset[str]:
    """The sampled question ids: per subject, the `sample_size` ids of lowest seeded rank."""
    chosen: set[str] = set()
    for ids in ids_by_subject.values():
        ranked = sorted(ids, key=lambda qid: _rank(rule.seed, benchmark, qid))
        chosen.update(ranked[: sample_size(len(ranked), rule)])
    return frozenset(chosen)

