"""A training run's evaluation scores beside its loss curve: when a checkpoint's job succeeds, its scores become
scalars at the checkpoint's step in the run's TensorBoard log directory, and in Weights & Biases when the run
uses it.

The run's directory is the checkpoint's parent (the trainer saves `<save_dir>/epoch-E_step-S/` and logs to
`<save_dir>/tensorboard/`, see `trainer/loop.py`). Scalars are written only when that log directory exists, in an
events file of their own (suffix `.cbench-eval`), so TensorBoard shows them in the same run as `Loss`. Tags:
`eval/<benchmark>` (micro accuracy, %) with `eval/<benchmark>/ci_low` and `/ci_high` (the 95% interval); a partial
run (fewer questions than the benchmark's full set, e.g. `--eval-limit`) goes under `eval_partial/` instead, and a
template other than the default gets `@<template>` on the benchmark name, so numbers never mix in one curve.
W&B: when `<save_dir>/wandb_run.json` names a run (`{"project": ..., "id": ..., "entity": ...}`) and the optional
`wandb` package is installed, the same scalars are logged to that run (resumed) against `trainer/step`.
Failures here are logged and never fail the job.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from evaluators.templates import DEFAULT_TEMPLATE

log = logging.getLogger(__name__)

TENSORBOARD_DIR = "tensorboard"
WANDB_RUN_FILE = "wandb_run.json"
EVENTS_SUFFIX = ".cbench-eval"
STEP_METRIC = "trainer/step"


def scalar_tags(benchmark: str, template: str, complete: bool) -> tuple[str, str, str]:
    """(score, interval low, interval high) tags of one benchmark's result."""
    name = benchmark if template == DEFAULT_TEMPLATE else f"{benchmark}@{template}"
    base = f"{'eval' if complete else 'eval_partial'}/{name}"
    return base, f"{base}/ci_low", f"{base}/ci_high"


def eval_scalars(benchmark: str, template: str, summary: Mapping[str, Any]) -> dict[str, float]:
    """The scalars of a stored summary (`BenchmarkSummary.to_dict()`), in percent."""
    micro = summary["micro"]
    score, low, high = scalar_tags(benchmark, template, bool(summary.get("complete")))
    return {score: float(micro["acc"]), low: float(micro["ci_low"]), high: float(micro["ci_high"])}


def run_directory(checkpoint_path: str | Path) -> Path | None:
    """The training run's directory of a local checkpoint, when it has a TensorBoard log dir or a W&B run file."""
    parent = Path(checkpoint_path).parent
    if (parent / TENSORBOARD_DIR).is_dir() or (parent / WANDB_RUN_FILE).is_file():
        return parent
    return None


def write_tensorboard(log_dir: Path, step: int, scalars: Mapping[str, float], walltime: float) -> None:
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(log_dir), filename_suffix=EVENTS_SUFFIX)
    try:
        for tag, value in scalars.items():
            writer.add_scalar(tag, value, global_step=step, walltime=walltime)
    finally:
        writer.close()


def write_wandb(run_file: Path, step: int, scalars: Mapping[str, float]) -> bool:
    """Log to the run named in `run_file`; False when the optional `wandb` package is not installed."""
    try:
        import wandb
    except ModuleNotFoundError:
        log.info("%s names a W&B run but wandb is not installed (pip install 'colossal-bench[wandb]')", run_file)
        return False
    info = json.loads(run_file.read_text(encoding="utf-8"))
    run = wandb.init(project=info["project"], entity=info.get("entity"), id=info["id"], resume="allow",
                     dir=str(run_file.parent), reinit=True)
    try:
        run.define_metric(STEP_METRIC)
        for tag in scalars:
            run.define_metric(tag, step_metric=STEP_METRIC)
        run.log({STEP_METRIC: step, **scalars})
    finally:
        run.finish()
    return True


def publish_eval_scalars(*, benchmark: str, template: str, summary: Mapping[str, Any], model_path: str,
                         model_source: str, training_run: str | None, step: int | None,
                         finished_at: datetime | None = None) -> list[str]:
    """Write a checkpoint's scores where its run logs; returns where they went ([] when nowhere)."""
    if training_run is None or step is None or model_source != "local":
        return []
    directory = run_directory(model_path)
    if directory is None:
        return []
    scalars = eval_scalars(benchmark, template, summary)
    walltime = (finished_at or datetime.now()).timestamp()
    written = []
    if (directory / TENSORBOARD_DIR).is_dir():
        write_tensorboard(directory / TENSORBOARD_DIR, step, scalars, walltime)
        written.append(str(directory / TENSORBOARD_DIR))
    if (directory / WANDB_RUN_FILE).is_file() and write_wandb(directory / WANDB_RUN_FILE, step, scalars):
        written.append("wandb")
    return written
