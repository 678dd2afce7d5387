"""Typed arguments of `cbench-train run`; each field's help is its documentation and the CLI is built from it.

`__post_init__` rejects bad combinations with a `ValueError` naming the flag. Whether a plugin can run on this
machine (only `ddp` works without CUDA) is checked at setup, where the accelerator is known.
"""

from __future__ import annotations

import argparse
import os
import types
import typing
from dataclasses import asdict, dataclass, field, fields
from typing import Any

PLUGINS = ("ddp", "zero2", "zero2_cpu", "gemini", "gemini_auto", "3d")
ATTENTION = ("auto", "flash_attention_2", "sdpa", "eager")
PRECISIONS = ("bf16", "fp16")
RESUME_MODES = ("full", "weights")
SECRET_FIELDS = ("token",)


def _f(default, help: str, **extra):
    return field(default=default, metadata={"help": help, **extra})


@dataclass
class TrainArgs:
    model: str | None = _f(None, "Hugging Face model directory to start from (with its tokenizer.model, or "
                           "a byte-level BPE tokenizer.json); "
                           "leave out with --resume-from")
    data: str = _f(None, "directory written by `cbench-train prepare`", required=True)
    save_dir: str = _f(None, "where checkpoints epoch-E_step-S/, logs and the registration outbox go", required=True)
    plugin: str = _f("zero2", "booster plugin; only ddp works on CPU", choices=PLUGINS)
    resume_from: str | None = _f(None, "checkpoint directory to start from (see --resume-mode)")
    resume_mode: str = _f("full", "full: weights, optimizer, scheduler and data position; weights: new stage with "
                          "fresh optimizer, warm-up and data position", choices=RESUME_MODES)
    max_length: int | None = _f(None, "sequence length; must equal the prepared data's (default: the data's)")
    batch_size: int = _f(2, "sequences per process per micro-step")
    accumulation_steps: int = _f(1, "micro-steps per optimizer step")
    num_epochs: int = _f(1, "passes over the data")
    max_steps: int | None = _f(None, "stop after this many optimizer steps (also the schedule's length)")
    lr: float = _f(3e-4, "peak learning rate")
    weight_decay: float = _f(0.1, "AdamW weight decay (all parameters)")
    warmup_steps: int | None = _f(None, "linear warm-up steps (default 2.5%% of the total)")
    grad_clip: float = _f(1.0, "gradient norm clipping (0 disables)")
    mixed_precision: str = _f("bf16", "GPU precision (CPU always trains in fp32)", choices=PRECISIONS)
    grad_checkpoint: bool = _f(False, "gradient checkpointing (use_reentrant=False)")
    attn: str = _f("auto", "attention implementation; auto = flash_attention_2 when flash_attn imports on CUDA, "
                   "else sdpa", choices=ATTENTION)
    padding: str = _f("longest", "pad each batch to the longest sequence or to max_length",
                      choices=("longest", "max_length"))
    save_interval: int = _f(1000, "save every N optimizer steps (0: only at epoch ends)")
    skip_save_each_epoch: bool = _f(False, "do not save at the end of each epoch")
    seed: int = _f(42, "seed for model init RNGs and the data order")
    tp_size: int = _f(1, "3d plugin: tensor parallel size")
    pp_size: int = _f(1, "3d plugin: pipeline parallel size (only 1 is supported)")
    zero_stage: int = _f(1, "3d plugin: ZeRO stage 0/1/2", choices=(0, 1, 2))
    log_interval: int = _f(1, "print a progress line every N optimizer steps (rank 0)")
    server: str | None = _f(None, "colossal-bench server URL; each checkpoint is registered there")
    token: str | None = _f(None, "API token for --server (default: $CBENCH_TOKEN); never written to disk")
    run_name: str | None = _f(None, "run name used for registration (default: the save directory's name)")
    benchmarks: str = _f("", "comma-separated benchmarks to score each checkpoint on (e.g. cmmlu,ceval)")
    eval_limit: int | None = _f(None, "questions per subject for registered evaluations (default: all)")
    eval_subjects: str = _f("", "comma-separated subjects for registered evaluations (default: all)")
    tags: str = _f("", "comma-separated tags for registered checkpoints")
    description: str | None = _f(None, "what the run is, stored with each registered checkpoint's model")

    def __post_init__(self) -> None:
        positive = ("batch_size", "accumulation_steps", "num_epochs", "log_interval", "tp_size", "pp_size")
        for name in positive:
            if getattr(self, name) < 1:
                raise ValueError(f"--{flag(name)} must be at least 1")
        for name in ("max_steps", "max_length", "eval_limit"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"--{flag(name)} must be at least 1")
        if (self.model is None) == (self.resume_from is None):
            raise ValueError("give exactly one of --model (a fresh start) and --resume-from (a checkpoint)")
        if self.lr <= 0:
            raise ValueError("--lr must be positive")
        if self.warmup_steps is not None and self.warmup_steps < 0:
            raise ValueError("--warmup-steps must not be negative")
        if self.save_interval < 0 or self.grad_clip < 0 or self.weight_decay < 0:
            raise ValueError("--save-interval, --grad-clip and --weight-decay must not be negative")
        for name, choices in (("plugin", PLUGINS), ("attn", ATTENTION), ("mixed_precision", PRECISIONS),
                              ("resume_mode", RESUME_MODES)):
            if getattr(self, name) not in choices:
                raise ValueError(f"--{flag(name)} must be one of {', '.join(choices)}")
        if self.pp_size != 1:
            raise ValueError("--pp-size > 1 is not supported (the pipeline path skips scheduler and logging)")
        if (self.tp_size != 1) and self.plugin != "3d":
            raise ValueError("--tp-size needs --plugin 3d")
        if self.benchmarks and not self.server:
            raise ValueError("--benchmarks needs --server")
        if self.server and not (self.token or os.environ.get("CBENCH_TOKEN")):
            raise ValueError("--server needs a token (--token or $CBENCH_TOKEN)")

    @property
    def api_token(self) -> str | None:
        return self.token or os.environ.get("CBENCH_TOKEN")

    def public_dict(self) -> dict:
        """All arguments except secrets (what the checkpoint sidecar records)."""
        data = asdict(self)
        for name in SECRET_FIELDS:
            data[name] = "***" if data[name] else None
        return data


def flag(name: str) -> str:
    return name.replace("_", "-")


def split_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def field_type(hint: Any) -> type:
    """The argparse type of a field annotation: `int | None` -> int, `float | None` -> float, `str` -> str."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        [hint] = [arg for arg in typing.get_args(hint) if arg is not type(None)]
    if hint not in (bool, int, float, str):
        raise TypeError(f"unsupported argument type {hint!r}")
    return hint


def add_arguments(parser: argparse.ArgumentParser, cls: type = TrainArgs) -> None:
    """Add one `--flag` per field of the dataclass `cls` (TrainArgs) to an argparse parser, typed by its annotation
    (resolved with `typing.get_type_hints`); a bool field is a switch."""
    hints = typing.get_type_hints(cls)
    for item in fields(cls):
        meta = item.metadata
        kwargs: dict[str, Any] = {"help": meta["help"], "dest": item.name}
        kind = field_type(hints[item.name])
        if kind is bool:
            parser.add_argument(f"--{flag(item.name)}", action="store_true", **kwargs)
            continue
        kwargs.update(type=kind, default=item.default)
        if meta.get("required"):
            kwargs["required"] = True
        if "choices" in meta:
            kwargs["choices"] = meta["choices"]
        parser.add_argument(f"--{flag(item.name)}", **kwargs)


def from_namespace(namespace: argparse.Namespace) -> TrainArgs:
    return TrainArgs(**{item.name: getattr(namespace, item.name) for item in fields(TrainArgs)})
