"""Checkpoint layout, save and load.

`<save_dir>/epoch-E_step-S/` is a Hugging Face model directory (config, safetensors shards + index, tokenizer
files) that the evaluator loads as is, plus `optimizer/` (sharded; `optimizer.pt` on CPU), `lr_scheduler.pt`, `running_states.json`
(epoch, optimizer step, per-rank sample position, tokens seen) and the sidecar `checkpoint.json` (step, tokens
seen, base model, tokenizer hash, data manifest, attention implementation, arguments). The sidecar is written
last, so a directory without it is an interrupted save.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

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


def save_checkpoint(booster, model, optimizer, scheduler, checkpoint_dir: Path, *, tokenizer_dir: Path,
                    running: dict, sidecar: dict, is_master: bool, shard_optimizer: bool = True) -> None:
    """Collective: every rank calls it. Rank 0 writes tokenizer, running states and (last) the sidecar."""
    import torch.distributed as dist

    from trainer.vocab import copy_tokenizer

    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    booster.save_model(model, str(checkpoint_dir), shard=True, use_safetensors=True, size_per_shard=1024)
    booster.save_optimizer(optimizer, str(optimizer_path(checkpoint_dir, shard_optimizer)), shard=shard_optimizer,
                           size_per_shard=1024)
    booster.save_lr_scheduler(scheduler, str(checkpoint_dir / SCHEDULER_FILE))
    if is_master:
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
