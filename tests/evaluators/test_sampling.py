"""The early-estimate sample: sizes, seeded choice independent of order and model, sample-first order."""

from __future__ import annotations

import pytest

from evaluators.sampling import SampleRule, sample_size, stratified_sample


@pytest.mark.parametrize(("population", "expected"), [(140, 14), (141, 15), (57, 6), (30, 5), (3, 3), (1, 1)])
def test_sample_size_is_ten_percent_at_least_five(population: int, expected: int) -> None:
    assert sample_size(population, SampleRule()) == expected


def test_sample_depends_on_ids_not_on_their_order() -> None:
    ids = {"algebra": [f"algebra/{i}" for i in range(100)], "law": [f"law/{i}" for i in range(20)]}
    sample = stratified_sample("mmlu", ids)
    shuffled = {k: list(reversed(v)) for k, v in ids.items()}
    assert stratified_sample("mmlu", shuffled) == sample
    assert len([q for q in sample if q.startswith("algebra/")]) == 10
    assert len([q for q in sample if q.startswith("law/")]) == 5
    assert sample != {f"algebra/{i}" for i in range(10)} | {f"law/{i}" for i in range(5)}  # not the first ones
    assert stratified_sample("mmlu", ids, SampleRule(seed="other")) != sample
    assert stratified_sample("cmmlu", ids) != sample


@pytest.mark.parametrize(("fraction", "minimum"), [(0.0, 5), (1.5, 5), (0.1, 0)])
def test_bad_rules_are_refused(fraction: float, minimum: int) -> None:
    with pytest.raises(ValueError, match="sample"):
        SampleRule(fraction=fraction, minimum=minimum)
