"""A checkpoint is a Hugging Face model directory even when colossalai's sharded save writes no config.json.

colossalai 0.5.0's `save_config_file` returns silently when `transformers.modeling_utils` lacks
`get_parameter_dtype` / `unwrap_model` (transformers 5); `write_model_config` fills the gap on rank 0.
"""

import json
import shutil
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")


class Wrapper:
    """Stands in for a booster's ModelWrapper: only `unwrap()` is used."""

    def __init__(self, module):
        self.module = module

    def unwrap(self):
        return self.module


def weights_only_copy(source: Path, target: Path) -> Path:
    """The tiny model's weights and tokenizer without config.json / generation_config.json, as the sharded save
    leaves a checkpoint under transformers 5."""
    shutil.copytree(source, target)
    for name in ("config.json", "generation_config.json"):
        (target / name).unlink(missing_ok=True)
    return target


def test_missing_config_is_written_from_the_wrapped_model(tiny_model, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM

    from trainer.checkpoints import write_model_config

    model = AutoModelForCausalLM.from_pretrained(tiny_model, torch_dtype=torch.float32)
    checkpoint = weights_only_copy(tiny_model, tmp_path / "ckpt")
    assert write_model_config(Wrapper(model), checkpoint)
    config = json.loads((checkpoint / "config.json").read_text())
    assert config["model_type"] == "llama" and config["architectures"] == ["LlamaForCausalLM"]
    assert (config.get("torch_dtype") or config.get("dtype")) == "float32"
    assert (checkpoint / "generation_config.json").is_file()
    loaded = AutoModelForCausalLM.from_pretrained(checkpoint)
    assert torch.equal(loaded.lm_head.weight, model.lm_head.weight)
    assert loaded.config.vocab_size == model.config.vocab_size


def test_config_written_by_the_sharded_save_is_kept(tiny_model, tmp_path):
    from transformers import AutoModelForCausalLM

    from trainer.checkpoints import write_model_config

    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    checkpoint = weights_only_copy(tiny_model, tmp_path / "ckpt")
    (checkpoint / "config.json").write_text('{"model_type": "llama", "marker": 1}')
    assert not write_model_config(model, checkpoint)  # an unwrapped model works too
    assert json.loads((checkpoint / "config.json").read_text())["marker"] == 1
