"""The two-pass count chunks a real plan exactly as the run loop does: one extra prefix forward per subject whose
sample and rest fall in different chunks."""

from __future__ import annotations

import dataclasses

import pytest

pytest.importorskip("torch")

from bench.two_pass_overhead import count_work
from evaluators.plan import build_plan
from evaluators.runner import RunOptions
from evaluators.sampling import SampleRule
from evaluators.tokenization import load_tokenizer


def test_counts_of_both_orders_on_a_real_plan(data_dir):
    tokenizer = load_tokenizer(str(data_dir / "tokenizers" / "llama2"), "sentencepiece")
    plan = build_plan("mmlu", "colossaleval", tokenizer, data_dir, subjects=["abstract_algebra", "anatomy"])
    assert [len([i for i in plan.items if i.question.subject == s]) for s in plan.subjects] == [100, 135]
    one = RunOptions(benchmark="mmlu", data_dir=data_dir, chunk_size=64)
    once = count_work(plan, one)
    twice = count_work(plan, dataclasses.replace(one, sample=SampleRule()))
    assert once["chunks"] == 2 + 3  # 100 = 64 + 36; 135 = 64 + 64 + 7
    assert twice["chunks"] == 2 + 4  # samples of 10 and 14; rests of 90 (64 + 26) and 121 (64 + 57)
    assert once["prefix_forwards"] == once["chunks"] and twice["prefix_forwards"] == twice["chunks"]
    assert twice["suffix_tokens"] == once["suffix_tokens"]
    prefix_lengths = {s: next(i.request.prefix_len for i in plan.items if i.question.subject == s)
                      for s in plan.subjects}
    assert twice["prefix_tokens"] - once["prefix_tokens"] == prefix_lengths["abstract_algebra"]
