"""Schemas for checkpoint registration (a model plus its jobs in one call, used by the trainer)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from app.schemas.fields import STRICT, Description, Key, ModelPath, OptionalBenchmarks, RunName, Tags
from app.schemas.jobs import JobOptions, JobPublic
from app.schemas.models import ModelPublic
from app.schemas.types import MAX_BIGINT
from evaluators.templates import DEFAULT_TEMPLATE


# properties to receive from a training run
class CheckpointCreate(BaseModel):
    model_config = STRICT

    run: RunName
    step: int = Field(ge=0, le=MAX_BIGINT)
    tokens_seen: int = Field(ge=0, le=MAX_BIGINT)
    path: ModelPath
    benchmarks: OptionalBenchmarks = Field(
        default_factory=list, description="a repeat of the same run, step and path queues the benchmarks (with "
                                          "this template and options) that have no job yet")
    template: Key = DEFAULT_TEMPLATE
    options: JobOptions = Field(default_factory=JobOptions)
    tags: Tags = Field(default_factory=list)
    description: Description | None = Field(None, description="what the run is; stored on the checkpoint's model "
                                                               "when it is first registered")
    contamination_index: str | None = Field(None, pattern="^[0-9a-f]{16}$",
                                            description="id of the contamination index of the training corpus")


class CheckpointPublic(BaseModel):
    model: ModelPublic
    jobs: list[JobPublic]
