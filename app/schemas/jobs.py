"""Schemas for jobs, their results and predictions."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.types import UtcDateTime
from evaluators.catalog import DEFAULT_MAX_LENGTH
from evaluators.templates import DEFAULT_TEMPLATE


# evaluation options shared by all jobs of one submission
class JobOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subjects: list[str] | None = Field(None, description="subject keys; all scored subjects when omitted")
    limit: int | None = Field(None, ge=1, le=1_000_000, description="questions per subject (smoke runs)")
    device: str | None = Field(None, description="cpu, cuda, cuda:1 or auto; the worker's default when omitted")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    backend: str = "hf"
    max_length: int = Field(DEFAULT_MAX_LENGTH, ge=16, le=1_048_576)


# properties to receive when submitting jobs: one job per benchmark
class JobCreate(BaseModel):
    model: int | str = Field(description="model id or name")
    benchmarks: list[str] = Field(min_length=1)
    template: str = DEFAULT_TEMPLATE
    options: JobOptions = Field(default_factory=JobOptions)


class JobPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    model_id: int
    benchmark: str
    template: str
    config: dict[str, Any]
    status: str
    progress_done: int
    progress_total: int | None
    error: str | None
    attempts: int
    lease_owner: str | None
    lease_expires_at: UtcDateTime | None
    not_before: UtcDateTime | None = Field(description="a retried job is not claimed before this time (back-off)")
    created_at: UtcDateTime
    started_at: UtcDateTime | None
    finished_at: UtcDateTime | None


class JobsPublic(BaseModel):
    data: list[JobPublic]
    count: int


class SubjectResultPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    subject: str
    display: str
    correct: int
    n: int
    acc: float
    stderr: float
    ci_low: float
    ci_high: float


class JobResultsPublic(BaseModel):
    job_id: int
    status: str
    summary: dict[str, Any] | None = Field(description="BenchmarkSummary as JSON; null until the job succeeds")
    subjects: list[SubjectResultPublic]
    record: dict[str, Any] | None = Field(description="reproducibility record")


class PredictionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    question_id: str
    subject: str
    gold: str
    pred: str
    scores: dict[str, float]
    correct: bool
    correct_combined: bool | None
    output: str | None
    letter: str | None
    prompt_sha256: str
    prompt: str | None


class PredictionsPublic(BaseModel):
    data: list[PredictionPublic]
    count: int
