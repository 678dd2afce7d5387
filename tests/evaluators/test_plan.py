"""The plan's batched harness tokenization gives exactly what the per-pair lm-eval rule gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluators.plan import build_plan
from evaluators.prompting import harness_truncate
from evaluators.scoring import harness_continuation_ids
from evaluators.tokenization import load_tokenizer


@pytest.mark.parametrize("chunk_size", [256, 7])
def test_batched_harness_pairs_equal_the_per_pair_rule(tiny_model: Path, data_dir: Path, monkeypatch,
                                                       chunk_size: int) -> None:
    import evaluators.plan as plan_module

    original = plan_module.harness_pairs
    monkeypatch.setattr(plan_module, "harness_pairs", lambda prompts, encode: original(prompts, encode, chunk_size))
    tokenizer = load_tokenizer(tiny_model, "hf")
    plan = build_plan("mmlu", "harness", tokenizer, data_dir, subjects=["anatomy", "high_school_european_history"],
                      limit=20)
    assert len(plan.items) == 40
    for item in plan.items:
        for letter, candidates in zip(item.prompt.letters, item.request.candidates, strict=True):
            ctx, cont = harness_continuation_ids(item.prompt.text, f" {letter}", tokenizer.encode)
            model_input, _ = harness_truncate(ctx, cont, max_length=4096)
            assert candidates == tuple(cont)
            assert item.request.ids == tuple(model_input)
