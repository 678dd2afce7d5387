"""Checkpoint layout, save and load.

`<save_dir>/epoch-E_step-S/` is a Hugging Face model directory (config, safetensors shards + index, tokenizer
files) that the evaluator loads as is, plus `optimizer/` (sharded; `optimizer.pt` on CPU), `lr_scheduler.pt`, `running_states.json`
(epoch, optimizer step, per-rank sample position, tokens seen) and the sidecar `checkpoint.json` (step, tokens
seen, base model, tokenizer hash, data manifest, attention implementation, arguments). The sidecar is written
last, so a directory without it is an interrupted save.

`config.json` normally comes from colossalai's sharded save (`save_config_file`), which silently writes nothing when
it cannot import `transformers.modeling_utils.get_parameter_dtype` / `unwrap_model` (gone in transformers 5); rank 0
then writes the config (and generation config) itself, so a checkpoint is a Hugging Face directory either way. A
model with tied input and output embeddings under ddp is saved by Hugging Face's `save_pretrained` instead, because
colossalai's safetensors save refuses the shared tensor.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from evaluators.model_files import is_model_dir
from trainer.sidecars import read_sidecar_file

SIDECAR = "checkpoint.json"
RUNNING_STATES = "running_states.json"
OPTIMIZER_DIR = "optimizer"  # sharded (CUDA)
OPTIMIZER_FILE = "optimizer.pt"  # one file on CPU: colossalai's sharded optimizer load calls a CUDA-only sync
SCHEDULER_FILE = "lr_scheduler.pt"
FORMAT = "cbench-checkpoint-v1"


def checkpoint_name(epoch: int, step: int) -> str:
    return f"epoch-{epoch}_step-{step}"


def write_json(path: Path, data: dict) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
    os.replace(tmp, path)


def read_sidecar(checkpoint_dir: str | Path) -> dict:
    return read_sidecar_file(Path(checkpoint_dir) / SIDECAR, FORMAT,
                             f"{checkpoint_dir} has no {SIDECAR} (not a trainer checkpoint, or an interrupted save)")


def read_running_states(checkpoint_dir: str | Path) -> dict:
    path = Path(checkpoint_dir) / RUNNING_STATES
    if not path.is_file():
        raise FileNotFoundError(f"{checkpoint_dir} has no {RUNNING_STATES}; use --resume-mode weights to start "
                                "a new stage from its weights")
    return json.loads(path.read_text(encoding="utf-8"))


def optimizer_path(checkpoint_dir: Path, sharded: bool) -> Path:
    return checkpoint_dir / (OPTIMIZER_DIR if sharded else OPTIMIZER_FILE)


def unwrap(model):
    """The Hugging Face model inside a booster's wrapper (ModelWrapper.unwrap), or the model itself."""
    return model.unwrap() if hasattr(model, "unwrap") else model


def tied_ddp_model(booster, model) -> bool:
    """A model with tied input and output embeddings (SmolLM2) under the ddp plugin: its full weights are on every
    rank, and Hugging Face's own save writes the shared tensor once."""
    from colossalai.booster.plugin import TorchDDPPlugin

    config = getattr(unwrap(model), "config", None)
    return isinstance(booster.plugin, TorchDDPPlugin) and bool(getattr(config, "tie_word_embeddings", False))


def write_model_config(model, checkpoint_dir: Path) -> bool:
    """Write config.json (dtype and architecture of the saved weights) and generation_config.json where the sharded
    save left none; returns whether it wrote them. A config already there (colossalai wrote it) is left as is."""
    if is_model_dir(checkpoint_dir):
        return False
    hf_model = unwrap(model)
    config = hf_model.config
    config.architectures = [type(hf_model).__name__]
    first = next(iter(hf_model.parameters()), None)
    if first is not None:  # as colossalai records it: the dtype of the saved weights
        config.torch_dtype = str(first.dtype).removeprefix("torch.")  # transformers 5 maps it to config.dtype
    config.save_pretrained(checkpoint_dir)
    generation = getattr(hf_model, "generation_config", None)
    if generation is not None and hf_model.can_generate():
        generation.save_pretrained(checkpoint_dir)
    return True


def save_checkpoint(booster, model, optimizer, scheduler, checkpoint_dir: Path, *, tokenizer_dir: Path,
                    running: dict, sidecar: dict, is_master: bool, shard_optimizer: bool = True) -> None:
    """Collective: every rank calls it. Rank 0 writes tokenizer, running states and (last) the sidecar."""
    import torch.distributed as dist

    from trainer.vocab import copy_tokenizer

    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    if tied_ddp_model(booster, model):
        if is_master:  # colossalai's safetensors save refuses the shared embedding/LM-head tensor
            unwrap(model).save_pretrained(checkpoint_dir, safe_serialization=True, max_shard_size="1GB")
    else:
        booster.save_model(model, str(checkpoint_dir), shard=True, use_safetensors=True, size_per_shard=1024)
    booster.save_optimizer(optimizer, str(optimizer_path(checkpoint_dir, shard_optimizer)), shard=shard_optimizer,
                           size_per_shard=1024)
    booster.save_lr_scheduler(scheduler, str(checkpoint_dir / SCHEDULER_FILE))
    if is_master:
        write_model_config(model, checkpoint_dir)
        copy_tokenizer(tokenizer_dir, checkpoint_dir)
        write_json(checkpoint_dir / RUNNING_STATES, running)
    if dist.is_initialized():
        dist.barrier()
    if is_master:
        write_json(checkpoint_dir / SIDECAR, {"format": FORMAT, "saved_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                                              **sidecar})
    if dist.is_initialized():
        dist.barrier()


def load_training_state(booster, optimizer, scheduler, checkpoint_dir: Path) -> None:
    """Restore optimizer and scheduler (the weights come with the model's `from_pretrained`)."""
    sharded = (checkpoint_dir / OPTIMIZER_DIR).is_dir()
    if not sharded and not (checkpoint_dir / OPTIMIZER_FILE).is_file():
        raise FileNotFoundError(f"{checkpoint_dir} holds no optimizer state; use --resume-mode weights")
    booster.load_optimizer(optimizer, str(optimizer_path(checkpoint_dir, sharded)))
    booster.load_lr_scheduler(scheduler, str(checkpoint_dir / SCHEDULER_FILE))
