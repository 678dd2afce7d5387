"""Signal and noise of a benchmark, as defined by Heineman et al. 2025 ("Signal and Noise", arXiv 2508.13144).

    signal = relative dispersion of the scores m_1..m_k of a set of models: max_{j,k} |m_j − m_k| / mean(m)
    noise  = relative standard deviation of one run's scores over its last n checkpoints: std(m) / mean(m)
             (population standard deviation, ddof = 0, as numpy's default)
    SNR    = signal / noise
A high SNR means the benchmark separates models by much more than a run's checkpoint-to-checkpoint jitter. The
`noisy` flag (this project's rule, not the paper's) asks the run's own question: over the last n checkpoints, is
the jitter around the trend larger than the change per checkpoint the benchmark is asked to resolve? A straight
line is fitted to score against checkpoint index; jitter = the regression's residual standard error
sqrt(SSR / (n − 2)), change = |slope| (points per checkpoint); noisy when jitter > change (needs n ≥ 3).
Pure Python; scores in percent.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

NOISE_CHECKPOINTS = 5


@dataclass(frozen=True)
class SignalNoise:
    signal: float | None  # relative dispersion of the model set (None: fewer than 2 models)
    noise: float | None  # relative std of the last checkpoints (None: fewer than 2 checkpoints)
    ratio: float | None  # signal / noise (None when either is missing or noise is 0)
    noise_points: float | None  # std of the last checkpoints, in accuracy points
    jitter: float | None  # residual standard error around the fitted trend, in points (None: fewer than 3)
    step_change: float | None  # |slope| of the fitted trend, in points per checkpoint
    noisy: bool  # jitter > step_change: the benchmark cannot resolve this run's checkpoint-to-checkpoint changes
    models: int
    checkpoints: int


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def relative_dispersion(scores: Sequence[float]) -> float:
    """max_{j,k} |m_j − m_k| / mean(m) = (max − min) / mean."""
    if len(scores) < 2:
        raise ValueError(f"relative dispersion needs at least 2 scores, got {len(scores)}")
    mean = _mean(scores)
    if mean == 0:
        raise ValueError("relative dispersion is undefined for a mean score of 0")
    return (max(scores) - min(scores)) / mean


def population_std(scores: Sequence[float]) -> float:
    mean = _mean(scores)
    return math.sqrt(sum((s - mean) ** 2 for s in scores) / len(scores))


def relative_std(scores: Sequence[float]) -> float:
    """std(m) / mean(m), population standard deviation."""
    if len(scores) < 2:
        raise ValueError(f"relative standard deviation needs at least 2 scores, got {len(scores)}")
    mean = _mean(scores)
    if mean == 0:
        raise ValueError("relative standard deviation is undefined for a mean score of 0")
    return population_std(scores) / mean


def trend_and_jitter(scores: Sequence[float]) -> tuple[float, float]:
    """(|slope| per checkpoint, residual standard error) of a least-squares line through `scores` (n ≥ 3)."""
    n = len(scores)
    if n < 3:
        raise ValueError(f"a trend with a residual error needs at least 3 scores, got {n}")
    x_mean, y_mean = (n - 1) / 2.0, _mean(scores)
    sxx = sum((x - x_mean) ** 2 for x in range(n))
    slope = sum((x - x_mean) * (y - y_mean) for x, y in enumerate(scores)) / sxx
    residuals = [y - (y_mean + slope * (x - x_mean)) for x, y in enumerate(scores)]
    return abs(slope), math.sqrt(sum(r * r for r in residuals) / (n - 2))


def signal_and_noise(model_scores: Sequence[float], checkpoint_scores: Sequence[float], *,
                     last: int = NOISE_CHECKPOINTS) -> SignalNoise:
    """Signal over `model_scores`, noise over the last `last` of `checkpoint_scores` (in training order)."""
    if last < 2:
        raise ValueError(f"noise needs at least 2 checkpoints, got last={last}")
    tail = list(checkpoint_scores)[-last:]
    signal = relative_dispersion(model_scores) if len(model_scores) >= 2 and _mean(model_scores) else None
    noise = noise_points = jitter = step_change = None
    if len(tail) >= 2 and _mean(tail):
        noise, noise_points = relative_std(tail), population_std(tail)
    if len(tail) >= 3:
        step_change, jitter = trend_and_jitter(tail)
    ratio = signal / noise if signal is not None and noise else None
    noisy = jitter is not None and step_change is not None and jitter > step_change
    return SignalNoise(signal=signal, noise=noise, ratio=ratio, noise_points=noise_points, jitter=jitter,
                       step_change=step_change, noisy=noisy, models=len(model_scores), checkpoints=len(tail))
