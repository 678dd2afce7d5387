"""Prefix reuse for byte-level BPE: split at the longest common prefix of a subject's prompts (item 4 of issue 13)."""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluators.plan import build_plan, common_prefix_length
from evaluators.tokenization import load_tokenizer


def test_common_prefix_length() -> None:
    assert common_prefix_length([[1, 2, 3], [1, 2, 4], [1, 2]]) == 2
    assert common_prefix_length([[5], [6]]) == 0
    assert common_prefix_length([[1, 2, 3]]) == 3
    assert common_prefix_length([]) == 0


@pytest.mark.parametrize("template", ["colossaleval", "harness"])
def test_smollm2_prompts_split_where_their_ids_agree(smollm2_dir: Path, data_dir: Path, template: str) -> None:
    tokenizer = load_tokenizer(smollm2_dir, "hf")
    plan = build_plan("mmlu", template, tokenizer, data_dir, subjects=["anatomy", "abstract_algebra"], limit=6)
    for subject in ("anatomy", "abstract_algebra"):
        items = [i for i in plan.items if i.question.subject == subject]
        prefix_ids = tokenizer.encode(items[0].prompt.prefix)
        # the few-shot block alone ends in one "ĊĊ" token; inside the prompt it is "Ċ", "Ċ"
        assert tokenizer.decode(prefix_ids[-1:]) == "\n\n"
        assert all(i.request.ids[: len(prefix_ids)] != tuple(prefix_ids) for i in items)
        lengths = {i.request.prefix_len for i in items}
        assert lengths == {len(prefix_ids) - 1}
        assert all(i.prefix_rule == "common_prefix" for i in items)
        assert all(i.request.ids[: len(prefix_ids) - 1] == tuple(prefix_ids[:-1]) for i in items)
    reuse = plan.prefix_reuse
    assert (reuse.questions_reusing, reuse.questions_with_prefix, plan.prefix_fallbacks) == (12, 12, 0)
    assert reuse.reused_tokens == sum(i.request.prefix_len for i in plan.items)
    assert 0.5 < reuse.token_rate < 1


def test_sentencepiece_split_is_the_prefix_itself(llama2_tokenizer_dir: Path, data_dir: Path) -> None:
    tokenizer = load_tokenizer(llama2_tokenizer_dir, "sentencepiece")
    plan = build_plan("mmlu", "colossaleval", tokenizer, data_dir, subjects=["anatomy"], limit=5)
    prefix_ids = tokenizer.encode(plan.items[0].prompt.prefix)
    assert {i.request.prefix_len for i in plan.items} == {len(prefix_ids)}
    assert {i.prefix_rule for i in plan.items} == {"token_prefix"}
    assert plan.prefix_reuse.by_common_prefix == 0
