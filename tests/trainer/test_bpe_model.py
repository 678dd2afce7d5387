"""A model like the demo's SmolLM2 trains: a byte-level BPE `tokenizer.json` without `tokenizer.model`, tied input
and output embeddings, and a config in transformers 5's layout (RoPE's base in `rope_parameters`). The tokenizer is
a real BPE trained here on MMLU dev questions; the model is a tiny random LLaMA of that layout."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("colossalai")

pytestmark = [pytest.mark.trainer]

ROPE_THETA = 50000.0
SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


@pytest.fixture(scope="module")
def bpe_model(tmp_path_factory, data_dir: Path) -> Path:
    """tokenizer.json + tokenizer_config.json (BOS <|im_start|>, EOS <|im_end|>) and a tied tiny LLaMA whose
    config.json keeps only `rope_parameters`, as transformers 5 writes it."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM

    from evaluators.catalog import load_spec
    from evaluators.loaders import load_file

    directory = tmp_path_factory.mktemp("bpe") / "model"
    directory.mkdir()
    spec = load_spec("mmlu")
    texts = [q.question for s in spec.subjects[:20] for q in load_file(spec, data_dir, s.key, "dev")]
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.train_from_iterator(texts, trainers.BpeTrainer(
        vocab_size=600, special_tokens=SPECIALS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tokenizer.save(str(directory / "tokenizer.json"))
    (directory / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "PreTrainedTokenizerFast", "bos_token": "<|im_start|>", "eos_token": "<|im_end|>",
        "pad_token": "<|im_end|>", "unk_token": "<|endoftext|>"}), encoding="utf-8")
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=tokenizer.get_vocab_size(), hidden_size=32, intermediate_size=64,
                         num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=2, bos_token_id=1,
                         eos_token_id=2, pad_token_id=2, tie_word_embeddings=True, rope_theta=ROPE_THETA)
    LlamaForCausalLM(config).save_pretrained(directory, safe_serialization=True)
    raw = json.loads((directory / "config.json").read_text(encoding="utf-8"))
    raw["rope_parameters"] = {"rope_theta": raw.pop("rope_theta"), "rope_type": "default"}
    raw.pop("rope_scaling", None)
    (directory / "config.json").write_text(json.dumps(raw), encoding="utf-8")
    return directory


@pytest.fixture(scope="module")
def packed(tmp_path_factory, bpe_model: Path, corpus: Path) -> Path:
    from trainer.prepare import prepare

    output = tmp_path_factory.mktemp("bpe-data") / "packed"
    prepare([corpus], bpe_model, output, max_length=256, bins=1, contamination_index=False)
    return output


def test_prepare_uses_tokenizer_json_with_its_bos_and_eos(bpe_model: Path, packed: Path) -> None:
    from tokenizers import Tokenizer

    manifest = json.loads((packed / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["tokenizer_hash"] == hashlib.sha256((bpe_model / "tokenizer.json").read_bytes()).hexdigest()
    tokenizer = Tokenizer.from_file(str(bpe_model / "tokenizer.json"))
    first = json.loads((packed / "bucket-00000.jsonl").read_text(encoding="utf-8").splitlines()[0])["input_ids"]
    bos, eos = tokenizer.token_to_id("<|im_start|>"), tokenizer.token_to_id("<|im_end|>")
    assert first[0] == bos and eos in first
    assert "答案" in tokenizer.decode(first[1:first.index(eos)])  # the corpus' CMMLU text round-trips


def test_transformers5_config_keeps_its_rope_base(bpe_model: Path) -> None:
    from trainer.loop import load_config

    assert load_config(bpe_model).rope_theta == ROPE_THETA


def test_tied_bpe_model_trains_and_saves_loadable_checkpoints(bpe_model: Path, packed: Path, tmp_path: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    save = tmp_path / "save"
    result = subprocess.run([sys.executable, "-m", "trainer", "run", "--model", str(bpe_model), "--data", str(packed),
                             "--save-dir", str(save), "--plugin", "ddp", "--batch-size", "1", "--max-steps", "2",
                             "--save-interval", "1", "--lr", "1e-3", "--warmup-steps", "1"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    for step in (1, 2):
        checkpoint = save / f"epoch-0_step-{step}"
        assert (checkpoint / "tokenizer.json").read_bytes() == (bpe_model / "tokenizer.json").read_bytes()
        assert not (checkpoint / "tokenizer.model").exists()
        model = AutoModelForCausalLM.from_pretrained(checkpoint)
        assert model.config.rope_theta == ROPE_THETA
        assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    first = AutoModelForCausalLM.from_pretrained(save / "epoch-0_step-1").model.embed_tokens.weight
    second = AutoModelForCausalLM.from_pretrained(save / "epoch-0_step-2").model.embed_tokens.weight
    assert not torch.equal(first, second)  # the second step changed the shared embedding


def test_contamination_index_of_a_bpe_tokenizer_is_refused_before_any_work(bpe_model: Path, corpus: Path,
                                                                             tmp_path: Path) -> None:
    from trainer.prepare import prepare

    with pytest.raises(ValueError, match="--no-contamination-index"):
        prepare([corpus], bpe_model, tmp_path / "packed", max_length=256, bins=1)
    assert not (tmp_path / "packed").exists()


def test_sequences_without_a_trained_token_keep_the_weights_finite(bpe_model: Path, data_dir: Path,
                                                                   tmp_path: Path) -> None:
    """At 8 tokens every question is cut before its answer letter: the loss of such a step is 0, never NaN."""
    import torch
    from transformers import AutoModelForCausalLM

    from evaluators.catalog import load_spec
    from evaluators.loaders import load_file
    from evaluators.templates import colossal_item
    from trainer.prepare import prepare

    spec = load_spec("mmlu")
    with open(tmp_path / "qa.jsonl", "w", encoding="utf-8") as handle:
        for question in load_file(spec, data_dir, "anatomy", "dev"):
            handle.write(json.dumps({"source": colossal_item(question), "target": question.gold}) + "\n")
    prepare([tmp_path / "qa.jsonl"], bpe_model, tmp_path / "packed", max_length=8, bins=1, contamination_index=False)
    save = tmp_path / "save"
    result = subprocess.run([sys.executable, "-m", "trainer", "run", "--model", str(bpe_model), "--data",
                             str(tmp_path / "packed"), "--save-dir", str(save), "--plugin", "ddp", "--batch-size", "1",
                             "--max-steps", "1", "--lr", "1e-3", "--warmup-steps", "0"],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    [line] = (save / "train_log.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(line)["loss"] == 0.0
    model = AutoModelForCausalLM.from_pretrained(save / "epoch-0_step-1")
    assert all(torch.isfinite(p).all() for p in model.parameters())
