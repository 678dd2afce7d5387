"""The plan's batched harness tokenization gives exactly what the per-pair lm-eval rule gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluators.catalog import load_spec
from evaluators.loaders import load_shots
from evaluators.plan import plan_questions, select_questions
from evaluators.prompting import harness_truncate
from evaluators.scoring import harness_continuation_ids
from evaluators.templates import get_template
from evaluators.tokenization import load_tokenizer


@pytest.mark.parametrize("chunk_size", [256, 7])
def test_batched_harness_pairs_equal_the_per_pair_rule(tiny_model: Path, data_dir: Path, chunk_size: int) -> None:
    tokenizer = load_tokenizer(tiny_model, "hf")
    spec = load_spec("mmlu")
    questions = select_questions(spec, data_dir, spec.eval_split, ["anatomy", "high_school_european_history"], 20)
    shots = {key: load_shots(spec, data_dir, key) for key in questions}
    plan = plan_questions(spec, get_template("harness"), tokenizer, spec.eval_split, questions, shots,
                          harness_chunk_size=chunk_size)
    assert len(plan.items) == 40
    for item in plan.items:
        for letter, candidates in zip(item.prompt.letters, item.request.candidates, strict=True):
            ctx, cont = harness_continuation_ids(item.prompt.text, f" {letter}", tokenizer.encode)
            model_input, _ = harness_truncate(ctx, cont, max_length=4096)
            assert candidates == tuple(cont)
            assert item.request.ids == tuple(model_input)
