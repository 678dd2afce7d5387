"""Build small randomly initialised LLaMA checkpoints locally (tests, demos, benchmarks).

Nothing is downloaded: the config is written here, weights come from a seeded random init, and the tokenizer is the
LLaMA-2 SentencePiece model from the data directory, saved with `add_bos_token=True` as LLaMA-2 ships it. A marker
file `TINY_RANDOM_MODEL` says plainly that the weights are random (chance-level scores are expected).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from evaluators.model_files import write_llama_tokenizer_files

TINY_SHAPE = {"hidden_size": 64, "intermediate_size": 172, "num_hidden_layers": 2, "num_attention_heads": 4,
              "num_key_value_heads": 4}
VLLM_CPU_SHAPE = {"num_attention_heads": 2, "num_key_value_heads": 2}
"""The same width with head size 32: vLLM's CPU attention supports head sizes 32..512, not TINY_SHAPE's 16."""


def build_tiny_llama(output_dir: str | Path, tokenizer_dir: str | Path, *, seed: int = 0,
                     max_position_embeddings: int = 4096, **shape: int) -> Path:
    """Write a random LLaMA (default: 2 layers, width 64, vocab 32,000) plus tokenizer files to `output_dir`."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    output = Path(output_dir)
    output.mkdir(parents=True, exist_ok=True)
    dims = {**TINY_SHAPE, **shape}
    config = LlamaConfig(vocab_size=32000, max_position_embeddings=max_position_embeddings, bos_token_id=1,
                         eos_token_id=2, pad_token_id=0, tie_word_embeddings=False, **dims)
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    with torch.no_grad():  # a wider logit spread than the default init makes ties vanishingly rare
        model.lm_head.weight.normal_(0.0, 0.5)
    model.save_pretrained(output, safe_serialization=True)
    copy_llama_tokenizer(tokenizer_dir, output)
    (output / "TINY_RANDOM_MODEL").write_text(f"random init, seed {seed}, shape {json.dumps(dims)}\n")
    return output


def copy_llama_tokenizer(tokenizer_dir: str | Path, output_dir: str | Path) -> None:
    """Copy `tokenizer.model` and write the Hugging Face config files LLaMA-2 ships (BOS added, no EOS)."""
    output = Path(output_dir)
    shutil.copyfile(Path(tokenizer_dir) / "tokenizer.model", output / "tokenizer.model")
    write_llama_tokenizer_files(output)
