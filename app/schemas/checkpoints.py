"""Schemas for checkpoint registration (a model plus its jobs in one call, used by the trainer)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from app.schemas.jobs import JobOptions, JobPublic
from app.schemas.models import ModelPublic
from app.schemas.types import MAX_BIGINT
from evaluators.templates import DEFAULT_TEMPLATE


# properties to receive from a training run
class CheckpointCreate(BaseModel):
    run: str = Field(min_length=1, max_length=200)
    step: int = Field(ge=0, le=MAX_BIGINT)
    tokens_seen: int = Field(ge=0, le=MAX_BIGINT)
    path: str = Field(min_length=1, max_length=1024)
    benchmarks: list[str] = Field(default_factory=list)
    template: str = DEFAULT_TEMPLATE
    options: JobOptions = Field(default_factory=JobOptions)
    tags: list[str] = Field(default_factory=list)


class CheckpointPublic(BaseModel):
    model: ModelPublic
    jobs: list[JobPublic]
