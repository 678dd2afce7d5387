"""Learning-rate schedule: linear warm-up, then cosine decay to 10% of the peak (CosineAnnealingWarmupLR)."""

from __future__ import annotations

import math


def lr_factor(step: int, warmup_steps: int, total_steps: int, min_ratio: float = 0.1) -> float:
    """Multiplier of the peak LR at optimizer step `step` (0-based), as used by `torch.optim.lr_scheduler.LambdaLR`."""
    if warmup_steps > 0 and step < warmup_steps:
        return (step + 1) / warmup_steps
    decay_steps = max(1, total_steps - warmup_steps)
    progress = min(1.0, (step - warmup_steps) / decay_steps)
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def default_warmup(total_steps: int, fraction: float = 0.025) -> int:
    return max(1, int(total_steps * fraction)) if total_steps > 0 else 0
