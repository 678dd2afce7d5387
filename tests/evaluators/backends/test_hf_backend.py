"""The transformers backend against a plain full forward pass of the same tiny model."""

from __future__ import annotations

import dataclasses

import pytest

torch = pytest.importorskip("torch")

from evaluators.backends.base import ScoreRequest  # noqa: E402

CANDIDATES = ((319, 29909), (350, 29933), (315, 29907), (360, 29928))


def _requests(prefix_len: int, count: int = 12, seed: int = 0) -> list[ScoreRequest]:
    generator = torch.Generator().manual_seed(seed)
    prefix = [1] + torch.randint(3, 32000, (prefix_len - 1,), generator=generator).tolist()
    requests = []
    for k in range(count):
        suffix = torch.randint(3, 32000, (3 + (7 * k) % 23,), generator=generator).tolist()
        requests.append(ScoreRequest(ids=tuple(prefix + suffix), candidates=CANDIDATES, prefix_len=prefix_len))
    return requests


def _reference(model, request: ScoreRequest) -> list[float]:
    with torch.no_grad():
        logits = model(torch.tensor([request.ids])).logits[0, -1].float()
    return [max(float(logits[c]) for c in alternatives) for alternatives in request.candidates]


def test_scores_equal_a_plain_forward_pass(hf_backend):
    requests = _requests(prefix_len=80)
    results = hf_backend.score(requests)
    for request, result in zip(requests, results, strict=True):
        assert result.scores == pytest.approx(_reference(hf_backend.model, request), abs=1e-4)
        assert result.prefix_reused


def test_prefix_reuse_and_batch_size_do_not_change_predictions(hf_backend):
    with_prefix = _requests(prefix_len=120, count=20, seed=1)
    without = [dataclasses.replace(r, prefix_len=0) for r in with_prefix]
    baseline = hf_backend.score(without)
    original = hf_backend.options
    try:
        for batch_size in (1, 4, 16):
            hf_backend.options = dataclasses.replace(original, max_batch_size=batch_size)  # options are frozen
            for requests in (with_prefix, without):
                results = hf_backend.score(requests)
                for a, b in zip(results, baseline, strict=True):
                    assert a.scores == pytest.approx(b.scores, abs=1e-4)
                    assert max(range(4), key=a.scores.__getitem__) == max(range(4), key=b.scores.__getitem__)
    finally:
        hf_backend.options = original


def test_only_the_last_position_reaches_the_lm_head(hf_backend):
    seen: list[tuple[int, ...]] = []
    hook = hf_backend.lm_head.register_forward_hook(lambda module, args, output: seen.append(tuple(args[0].shape)))
    try:
        hf_backend.score(_requests(prefix_len=40, count=5))
    finally:
        hook.remove()
    assert seen and all(len(shape) == 2 for shape in seen)  # [batch, hidden]: one row per question
    assert sum(shape[0] for shape in seen) == 5


def test_results_come_back_in_request_order(hf_backend):
    requests = _requests(prefix_len=30, count=9, seed=3)
    shuffled = requests[::-1]
    forward = hf_backend.score(requests)
    backward = hf_backend.score(shuffled)
    for a, b in zip(forward, backward[::-1], strict=True):
        assert a.scores == pytest.approx(b.scores, abs=1e-4)


def test_logprob_method_matches_log_softmax(hf_backend):
    request = dataclasses.replace(_requests(prefix_len=20, count=1)[0], method="logprob",
                                  candidates=((319,), (350,), (315,), (360,)))
    (result,) = hf_backend.score([request])
    with torch.no_grad():
        logits = hf_backend.model(torch.tensor([request.ids])).logits[0, -1].float()
    expected = torch.log_softmax(logits, dim=-1)[[319, 350, 315, 360]].tolist()
    assert list(result.scores) == pytest.approx(expected, abs=1e-4)


def test_multi_token_continuation_sums_log_probabilities(hf_backend):
    context = _requests(prefix_len=10, count=1)[0].ids
    request = ScoreRequest(ids=context, candidates=((319, 350), (315,)), method="logprob")
    (result,) = hf_backend.score([request])
    with torch.no_grad():
        logits = hf_backend.model(torch.tensor([list(context) + [319]])).logits[0].float()
    logprobs = torch.log_softmax(logits, dim=-1)
    expected = float(logprobs[-2, 319] + logprobs[-1, 350])
    assert result.scores[0] == pytest.approx(expected, abs=1e-4)


def test_greedy_generation_matches_argmax_decoding(hf_backend):
    request = dataclasses.replace(_requests(prefix_len=15, count=1)[0], generate=True, max_new_tokens=4)
    (result,) = hf_backend.score([request])
    ids = list(request.ids)
    with torch.no_grad():
        for _ in range(4):
            ids.append(int(hf_backend.model(torch.tensor([ids])).logits[0, -1].argmax()))
    expected = hf_backend._decoder_tokenizer().decode(ids[len(request.ids):], skip_special_tokens=True).strip()
    assert result.output == expected


def test_a_directory_without_config_is_refused(tmp_path):
    from evaluators.backends import load_backend
    from evaluators.backends.base import BackendOptions

    with pytest.raises(ValueError, match="config.json"):
        load_backend("hf", BackendOptions(model_path=str(tmp_path)))


def test_out_of_memory_halves_the_budget_of_that_call_only(tiny_model):
    """A forward over more than 60 tokens raises torch's OutOfMemoryError (injected by a hook on the real model):
    scoring and generation back off to smaller batches with unchanged results, and the next call starts again
    with the configured budget."""
    from evaluators.backends import load_backend
    from evaluators.backends.base import BackendOptions

    backend = load_backend("hf", BackendOptions(model_path=str(tiny_model), device="cpu", max_batch_tokens=4096))
    requests = _requests(prefix_len=40, count=12, seed=4)
    generating = [ScoreRequest(ids=(1, *r.ids[-12:]), candidates=CANDIDATES, generate=True, max_new_tokens=3)
                  for r in requests[:8]]
    baseline, baseline_outputs = backend.score(requests), [r.output for r in backend.score(generating)]
    tokens: list[int] = []

    def small_memory(module, args, kwargs):
        tokens.append(kwargs["input_ids"].numel())
        if tokens[-1] > 60:
            raise torch.OutOfMemoryError("injected: more than 60 tokens")

    hook = backend.decoder.register_forward_pre_hook(small_memory, with_kwargs=True)
    try:
        results = backend.score(requests)
        outputs = [r.output for r in backend.score(generating)]
    finally:
        hook.remove()
    for a, b in zip(results, baseline, strict=True):
        assert a.scores == pytest.approx(b.scores, abs=1e-4)
    assert outputs == baseline_outputs
    assert backend.info["oom_backoffs"] >= 2 and backend.info["max_batch_tokens_after_backoff"] < 4096
    suffix_tokens = sum(len(r.ids) - 40 for r in requests)
    assert suffix_tokens > 60 and suffix_tokens in tokens  # the first try of each call was one full batch
    tokens.clear()
    hook = backend.decoder.register_forward_pre_hook(lambda module, args, kwargs: tokens.append(
        kwargs["input_ids"].numel()), with_kwargs=True)
    try:
        backend.score(requests)
    finally:
        hook.remove()
    assert tokens == [40, suffix_tokens]  # the prefix, then all suffixes in one batch: the budget was reset
