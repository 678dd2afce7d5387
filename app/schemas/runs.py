"""Schemas for a training run's report: checkpoints with results, early estimates and verdicts; signal and noise."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Attributes(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class RunResultPublic(_Attributes):
    job_id: int
    benchmark: str
    acc: float
    ci_low: float
    ci_high: float
    n: int
    expected_n: int | None
    complete: bool
    sample_only: bool = Field(description="the job stopped after the early-estimate sample")
    estimate: dict[str, Any] | None = Field(description="the job's early estimate (subject-weighted, 95% interval)")


class RunEstimatePublic(_Attributes):
    job_id: int
    benchmark: str
    progress_done: int
    progress_total: int | None
    estimate: dict[str, Any] = Field(description="estimate, n of N: acc, ci_low, ci_high, n, population, ...")


class VerdictPublic(_Attributes):
    benchmark: str
    baseline: Literal["previous", "best"]
    baseline_model_id: int
    baseline_step: int | None
    job_id: int
    baseline_job_id: int
    n: int = Field(description="questions both checkpoints have")
    diff: float = Field(description="accuracy of this checkpoint minus the baseline's, percentage points")
    ci_low: float = Field(description="paired bootstrap 95% interval of diff")
    ci_high: float
    p_value: float = Field(description="exact McNemar test")
    p_adjusted: float = Field(description="Holm-corrected over this checkpoint's benchmarks")
    verdict: Literal["improved", "regressed", "no significant change"]
    sample: bool = Field(description="judged on the early-estimate sample only")


class CheckpointReportPublic(_Attributes):
    model_id: int
    name: str
    step: int | None
    tokens_seen: int | None
    results: dict[str, RunResultPublic]
    estimates: dict[str, RunEstimatePublic] = Field(description="running jobs that have published an estimate")
    verdicts: list[VerdictPublic]


class SignalNoiseFiguresPublic(_Attributes):
    signal: float | None = Field(description="relative dispersion of the signal set: max |m_j − m_k| / mean")
    noise: float | None = Field(description="relative standard deviation of the run's last checkpoints")
    ratio: float | None = Field(description="signal / noise")
    noise_points: float | None
    jitter: float | None = Field(description="residual standard error around the trend of the last checkpoints")
    step_change: float | None = Field(description="|slope| of that trend, points per checkpoint")
    noisy: bool = Field(description="jitter > step_change: single-step differences are mostly noise")
    models: int
    checkpoints: int


class SignalNoisePublic(_Attributes):
    benchmark: str
    template: str
    figures: SignalNoiseFiguresPublic
    sentence: str


class RunPublic(_Attributes):
    run: str
    template: str
    noise_checkpoints: int
    benchmarks: list[str]
    checkpoints: list[CheckpointReportPublic]
    signal_noise: list[SignalNoisePublic]
    signal_noise_meaning: str
