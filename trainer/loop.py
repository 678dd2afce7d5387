"""`cbench-train run`: set up ColossalAI, then train through the buckets, saving and registering checkpoints.

`setup` builds everything from `TrainArgs` (process group, data, model, optimizer, schedule, booster) and `fit`
runs the loop: micro-steps with gradient accumulation, one scheduler step per optimizer step, the loss averaged
over ranks and logged to TensorBoard (`Loss`, `Learning Rate`) and `train_log.jsonl`. Saves happen every
`save_interval` optimizer steps, at epoch ends (measured against the full epoch, also after a resume) and at the end.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import socket
import time
from contextlib import nullcontext
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from evaluators.model_files import is_model_dir
from trainer.args import TrainArgs, split_list
from trainer.attention import choose_attention
from trainer.checkpoints import (
    checkpoint_name,
    load_training_state,
    read_running_states,
    read_sidecar,
    save_checkpoint,
    write_json,
)
from trainer.loader import BucketSampler, PackedDataset, collate
from trainer.packing import IGNORE_INDEX
from trainer.plugins import build_optimizer, build_plugin, check_plugin, data_parallel_rank
from trainer.registration import EvalRequest, flush, register_checkpoint
from trainer.schedule import default_warmup, lr_factor
from trainer.vocab import tokenizer_hash

TRAIN_LOG = "train_log.jsonl"
logger = logging.getLogger("cbench-train")


@dataclass(kw_only=True)
class Session:
    """Everything `fit` needs, built by `setup`."""

    args: TrainArgs
    booster: Any
    model: Any
    optimizer: Any
    scheduler: Any
    loader: Any
    sampler: BucketSampler
    dataset: PackedDataset
    rank: int
    world_size: int
    cuda: bool
    attn: str
    start_dir: Path
    steps_per_epoch: int
    total_steps: int
    warmup_steps: int
    running: dict
    base_model: str
    data_summary: dict


def ensure_torch_env() -> None:
    """Let a plain single process run without torchrun (rank 0 of 1, a free local port)."""
    if "RANK" in os.environ:
        return
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    os.environ.update({"RANK": "0", "LOCAL_RANK": "0", "WORLD_SIZE": "1", "MASTER_ADDR": "127.0.0.1",
                       "MASTER_PORT": str(port)})


def peak_memory(cuda: bool) -> str:
    if cuda:
        import torch

        return f"{torch.cuda.max_memory_allocated() / 2**30:.2f} GiB device"
    return f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB host RSS"


def log(session_rank: int, message: str) -> None:
    if session_rank == 0:
        logger.info(message)


def load_config(start_dir: Path) -> Any:
    """The model's config. A config written by transformers 5 keeps RoPE's base in `rope_parameters`, which
    transformers 4 does not read (it would silently train with its default `rope_theta` of 10000): copy it over."""
    import transformers
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(start_dir)
    raw = json.loads((start_dir / "config.json").read_text(encoding="utf-8"))
    rope = raw.get("rope_parameters")
    if int(transformers.__version__.split(".")[0]) < 5 and isinstance(rope, dict) and "rope_theta" not in raw:
        config.rope_theta = rope["rope_theta"]
        if rope.get("rope_type", "default") != "default":
            config.rope_scaling = dict(rope)
    return config


def check_data(args: TrainArgs, manifest: dict, start_dir: Path) -> int:
    """Refuse a tokenizer or max_length mismatch; return the max_length to train with."""
    if manifest["tokenizer_hash"] != tokenizer_hash(start_dir):
        raise ValueError(f"the data in {args.data} was prepared with another tokenizer than {start_dir}'s")
    if args.max_length is not None and args.max_length != manifest["max_length"]:
        raise ValueError(f"--max-length {args.max_length} differs from the prepared data's {manifest['max_length']}")
    return manifest["max_length"]


def setup(args: TrainArgs) -> Session:
    import torch

    cuda = torch.cuda.is_available()
    check_plugin(args.plugin, cuda)
    start_dir = Path(args.resume_from or args.model)
    if not is_model_dir(start_dir):
        raise FileNotFoundError(f"{start_dir} is not a Hugging Face model directory (no config.json)")
    dataset = PackedDataset(args.data)
    max_length = check_data(args, dataset.manifest, start_dir)
    full_resume = args.resume_from is not None and args.resume_mode == "full"
    running = read_running_states(start_dir) if full_resume else {"epoch": 0, "step": 0, "sample_start_index": 0,
                                                                     "tokens_seen": 0}
    base_model = str(start_dir.resolve())
    if args.resume_from:
        sidecar = read_sidecar(start_dir)
        if full_resume:
            base_model = sidecar["base_model"]
            if sidecar["data_manifest"]["tokens"] != dataset.manifest["tokens"]:
                raise ValueError("full resume needs the same prepared data; use --resume-mode weights for a new stage")

    ensure_torch_env()
    import colossalai
    import torch.distributed as dist
    from colossalai.booster import Booster
    from transformers import AutoModelForCausalLM

    colossalai.launch_from_torch(seed=args.seed, verbose=False)
    rank = dist.get_rank()
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}[args.mixed_precision] if cuda else torch.float32
    attn, reason = choose_attention(args.attn, cuda, dtype != torch.float32)
    log(rank, f"attention: {attn} ({reason}); plugin {args.plugin}; dtype {dtype}; world size "
              f"{dist.get_world_size()}")
    model = AutoModelForCausalLM.from_pretrained(start_dir, config=load_config(start_dir), torch_dtype=dtype,
                                                 attn_implementation=attn)
    if args.grad_checkpoint:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.train()
    plugin = build_plugin(args, cuda, flash_attention=attn == "flash_attention_2")
    dp_rank, dp_size = data_parallel_rank(plugin, args)
    sampler = BucketSampler(dataset.bucket_ranges, rank=dp_rank, world_size=dp_size, seed=args.seed)
    steps_per_epoch = len(sampler.rank_indices()) // args.batch_size // args.accumulation_steps
    if steps_per_epoch == 0:
        raise ValueError(f"{len(dataset)} sequences are not enough for one optimizer step with {dp_size} process(es)"
                         f" x --batch-size {args.batch_size} x --accumulation-steps {args.accumulation_steps}")
    total = args.max_steps or args.num_epochs * steps_per_epoch
    warmup = args.warmup_steps if args.warmup_steps is not None else default_warmup(total)
    from torch.utils.data import DataLoader

    pad_id = model.config.pad_token_id if model.config.pad_token_id is not None else 0
    loader = DataLoader(dataset, batch_size=args.batch_size, sampler=sampler, drop_last=True, num_workers=0,
                        collate_fn=partial(collate, pad_id=pad_id,
                                           pad_to=max_length if args.padding == "max_length" else None))
    optimizer = build_optimizer(model, args, cuda)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: lr_factor(s, warmup, total))
    booster = Booster(plugin=plugin)
    model, optimizer, _, _, scheduler = booster.boost(model, optimizer, lr_scheduler=scheduler)
    if full_resume:
        load_training_state(booster, optimizer, scheduler, start_dir)
        log(rank, f"resumed {start_dir} at epoch {running['epoch']}, step {running['step']}")
    log(rank, f"{len(dataset)} sequences in {len(dataset.bucket_ranges)} buckets; {steps_per_epoch} steps/epoch, "
              f"{total} steps, warm-up {warmup}; peak memory {peak_memory(cuda)}")
    manifest = dataset.manifest
    data_summary = {"path": str(Path(args.data).resolve()), "tokenizer_hash": manifest["tokenizer_hash"],
                    "max_length": manifest["max_length"], "tokens": manifest["tokens"],
                    "sequences": manifest["sequences"], "buckets": [b["file"] for b in manifest["buckets"]],
                    "contamination_index": (manifest.get("contamination_index") or {}).get("id")}
    return Session(args=args, booster=booster, model=model, optimizer=optimizer, scheduler=scheduler, loader=loader,
                   sampler=sampler, dataset=dataset, rank=rank, world_size=dist.get_world_size(), cuda=cuda, attn=attn,
                   start_dir=start_dir, steps_per_epoch=steps_per_epoch, total_steps=total, warmup_steps=warmup,
                   running=running, base_model=base_model, data_summary=data_summary)


def all_reduce_sum(value: float, cuda: bool) -> float:
    import torch
    import torch.distributed as dist

    tensor = torch.tensor([value], dtype=torch.float64, device="cuda" if cuda else "cpu")
    dist.all_reduce(tensor)
    return float(tensor.item())


def save(s: Session, epoch: int, step: int, running: dict) -> Path:
    args = s.args
    path = Path(args.save_dir) / checkpoint_name(epoch, step)
    sidecar = {"step": step, "epoch": epoch, "tokens_seen": running["tokens_seen"], "base_model": s.base_model,
               "tokenizer_hash": tokenizer_hash(s.start_dir), "data_manifest": s.data_summary,
               "attn_implementation": s.attn, "plugin": args.plugin, "world_size": s.world_size,
               "args": args.public_dict()}
    save_checkpoint(s.booster, s.model, s.optimizer, s.scheduler, path, tokenizer_dir=s.start_dir,
                    running=running, sidecar=sidecar, is_master=s.rank == 0, shard_optimizer=s.cuda)
    log(s.rank, f"saved {path}; peak memory {peak_memory(s.cuda)}")
    if s.rank == 0 and args.server:
        request = EvalRequest(benchmarks=tuple(split_list(args.benchmarks)), limit=args.eval_limit,
                              subjects=tuple(split_list(args.eval_subjects)) or None, tags=tuple(split_list(args.tags)),
                              description=args.description)
        result = register_checkpoint(path, args.save_dir, args.server, args.api_token,
                                     args.run_name or Path(args.save_dir).resolve().name, request)
        log(s.rank, f"registration: {result.sent} sent, {result.pending} pending, {result.failed} rejected"
                    + (f" ({result.last_error})" if result.last_error else ""))
    return path


@dataclass
class Progress:
    """Where training stands: optimizer steps, tokens trained on, and the last checkpoint written."""

    step: int
    tokens_seen: int
    last_saved: int
    last_path: Path | None = None


def save_once(s: Session, progress: Progress, epoch: int, *, resume_epoch: int, sample_start_index: int) -> None:
    """Save a checkpoint of the current step unless it is saved already; the running state says where a full
    resume continues (`resume_epoch`, `sample_start_index`)."""
    if progress.last_saved == progress.step:
        return
    running = {"epoch": resume_epoch, "step": progress.step, "sample_start_index": sample_start_index,
               "tokens_seen": progress.tokens_seen}
    progress.last_path, progress.last_saved = save(s, epoch, progress.step, running), progress.step


def log_step(s: Session, writer: Any, epoch: int, progress: Progress, loss: float, lr: float) -> None:
    """TensorBoard scalars, a `train_log.jsonl` line and, every `log_interval` steps, a progress line (rank 0)."""
    if s.rank != 0:
        return
    step = progress.step
    writer.add_scalar("Loss", loss, step)
    writer.add_scalar("Learning Rate", lr, step)
    with open(Path(s.args.save_dir) / TRAIN_LOG, "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"step": step, "epoch": epoch, "loss": loss, "lr": lr,
                                 "tokens_seen": progress.tokens_seen, "time": time.time()}) + "\n")
    if step % s.args.log_interval == 0:
        log(0, f"epoch {epoch} step {step}/{s.total_steps} loss {loss:.4f} lr {lr:.3e} tokens {progress.tokens_seen}")


def micro_loss(output: Any, labels: Any) -> Any:
    """The model's loss, or a zero that still reaches every parameter when no label is trained (a document cut by
    max_length before its target): the mean over no tokens would be NaN and poison the weights."""
    if bool((labels[:, 1:] != IGNORE_INDEX).any()):  # the model shifts labels by one
        return output.loss
    return output.logits.sum() * 0.0


def train_epoch(s: Session, epoch: int, offset: int, progress: Progress, writer: Any, device: Any) -> bool:
    """One epoch from sample `offset`: optimizer steps of `accumulation_steps` micro-steps each (gradients synced
    on the last one), stopping early at `total_steps`. Returns whether the epoch ran to its end."""
    args, accum = s.args, s.args.accumulation_steps
    s.sampler.set_epoch(epoch)
    s.sampler.set_start_index(offset)
    consumed = offset
    steps_left = (s.steps_per_epoch * accum - offset // args.batch_size) // accum  # full epoch, also on resume
    clip_here = args.plugin == "ddp" and args.grad_clip > 0
    batches = iter(s.loader)
    for _ in range(steps_left):
        if progress.step >= s.total_steps:
            save_once(s, progress, epoch, resume_epoch=epoch, sample_start_index=consumed)
            return False
        loss_sum, tokens = 0.0, 0
        for micro in range(accum):
            batch = {k: v.to(device) for k, v in next(batches).items()}
            sync = micro == accum - 1
            context = nullcontext() if sync or not s.booster.plugin.support_no_sync() else \
                s.booster.no_sync(s.model, s.optimizer)
            with context:
                loss = micro_loss(s.model(**batch), batch["labels"])
                s.booster.backward(loss / accum, s.optimizer)
            loss_sum += float(loss.detach())
            tokens += int(batch["attention_mask"].sum())
            consumed += args.batch_size
        if clip_here:
            s.optimizer.clip_grad_by_norm(args.grad_clip)
        lr = s.scheduler.get_last_lr()[0]
        s.optimizer.step()
        s.scheduler.step()
        s.optimizer.zero_grad()
        progress.step += 1
        mean_loss = all_reduce_sum(loss_sum / accum, s.cuda) / s.world_size
        progress.tokens_seen += int(all_reduce_sum(tokens, s.cuda))
        log_step(s, writer, epoch, progress, mean_loss, lr)
        if args.save_interval and progress.step % args.save_interval == 0:
            save_once(s, progress, epoch, resume_epoch=epoch, sample_start_index=consumed)
    if not args.skip_save_each_epoch:
        save_once(s, progress, epoch, resume_epoch=epoch + 1, sample_start_index=0)
    return True


def fit(s: Session) -> dict:
    """Train to `total_steps`; return {"step", "tokens_seen", "last_checkpoint"}."""
    import torch
    from torch.utils.tensorboard import SummaryWriter

    args = s.args
    save_dir = Path(args.save_dir)
    writer = SummaryWriter(str(save_dir / "tensorboard")) if s.rank == 0 else None
    progress = Progress(step=s.running["step"], tokens_seen=s.running["tokens_seen"], last_saved=s.running["step"])
    start_epoch, start_index = s.running["epoch"], s.running["sample_start_index"]
    device = torch.device("cuda", torch.cuda.current_device()) if s.cuda else torch.device("cpu")
    for epoch in range(start_epoch, args.num_epochs):
        if progress.step >= s.total_steps:
            break
        if not train_epoch(s, epoch, start_index if epoch == start_epoch else 0, progress, writer, device):
            break  # stopped by max_steps inside the epoch (and saved there)
    save_once(s, progress, args.num_epochs - 1, resume_epoch=args.num_epochs, sample_start_index=0)
    if writer is not None:
        writer.close()
    if s.rank == 0 and args.server:
        result = flush(save_dir, args.server, args.api_token)
        log(0, f"registration outbox: {result.sent} sent, {result.pending} pending")
    return {"step": progress.step, "tokens_seen": progress.tokens_seen,
            "last_checkpoint": str(progress.last_path) if progress.last_path else None}


def run(args: TrainArgs) -> dict:
    """Set up, write the arguments JSON, train, and tear the process group down."""
    import torch.distributed as dist

    session = setup(args)
    try:
        if session.rank == 0:
            Path(args.save_dir).mkdir(parents=True, exist_ok=True)
            write_json(Path(args.save_dir) / "args.json", args.public_dict())
        return fit(session)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
