"""Planned question counts and chance levels from the dataset specs."""

from __future__ import annotations

from evaluators.catalog import BENCHMARKS, chance_level, load_spec, planned_count


def test_planned_count_matches_the_expected_totals_and_limits() -> None:
    for benchmark in BENCHMARKS:
        spec = load_spec(benchmark)
        assert planned_count(benchmark) == spec.expected_n
        first = spec.subjects[0]
        assert planned_count(benchmark, [first.key]) == first.counts[spec.eval_split]
        assert planned_count(benchmark, [first.key], limit=2) == min(2, first.counts[spec.eval_split])
    assert planned_count("mmlu", ["abstract_algebra", "anatomy"], limit=3) == 6


def test_chance_level_is_one_over_the_letters() -> None:
    assert chance_level("mmlu") == 100.0 / len(load_spec("mmlu").letters) == 25.0
