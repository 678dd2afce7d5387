"""Schemas for jobs, their results and predictions."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.schemas.fields import STRICT, Benchmarks, Device, Key, MaxLength, PlainText, Subjects
from app.schemas.types import MAX_ID, UtcDateTime
from evaluators.catalog import DEFAULT_MAX_LENGTH
from evaluators.templates import DEFAULT_TEMPLATE

ModelId = Annotated[int, Field(ge=1, le=MAX_ID)]
ModelRef = ModelId | Annotated[PlainText, StringConstraints(min_length=1, max_length=255)]


# evaluation options shared by all jobs of one submission
class JobOptions(BaseModel):
    model_config = STRICT

    subjects: Subjects | None = Field(None, description="subject keys; all scored subjects when omitted")
    limit: int | None = Field(None, ge=1, le=1_000_000, description="questions per subject (smoke runs)")
    device: Device | None = Field(None, description="cpu, cuda, cuda:N, mps or auto; the worker's default when "
                                                    "omitted")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"
    backend: Key = "hf"
    max_length: MaxLength = DEFAULT_MAX_LENGTH
    sample_only: bool = Field(False, description="stop after the early-estimate sample (10% of every subject, at "
                                                 "least 5): for frequent checkpoints")


# the early estimate from the stratified sample, subject-weighted to the full set (percent)
class EstimatePublic(BaseModel):
    acc: float
    stderr: float
    ci_low: float = Field(description="95% interval, stratified estimator with finite-population correction")
    ci_high: float
    n: int = Field(description="questions scored in the sample")
    population: int = Field(description="questions in the full set (N)")
    subjects: int
    metric: str


# properties to receive when submitting jobs: one job per benchmark
class JobCreate(BaseModel):
    model_config = STRICT

    model: ModelRef = Field(description="model id (a JSON integer, or a string of ASCII digits) or model name")
    benchmarks: Benchmarks
    template: Key = DEFAULT_TEMPLATE
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
    estimate: EstimatePublic | None = Field(None, description="early estimate, shown as 'estimate, n of N' until "
                                                              "the full score replaces it")


class JobWithModelPublic(JobPublic):
    """A job with its model's name, as the pages list jobs."""

    model_name: str


class JobsPublic(BaseModel):
    data: list[JobPublic]
    count: int


class SubjectResultPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    job_id: int
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
