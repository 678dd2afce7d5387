"""Schemas for registered models."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.types import MAX_BIGINT, UtcDateTime


# properties to receive when registering a model
class ModelCreate(BaseModel):
    name: str = Field(min_length=1, max_length=255)
    path: str = Field(min_length=1, max_length=1024, description="local directory, a .gguf file (converted by a "
                      "worker; the model shows status 'converting' until ready) or Hugging Face Hub id")
    revision: str | None = Field(None, max_length=255, description="hub revision; default 'main' for hub ids")
    tags: list[str] = Field(default_factory=list)
    description: str | None = None
    training_run: str | None = Field(None, max_length=255)
    step: int | None = Field(None, ge=0, le=MAX_BIGINT)
    tokens_seen: int | None = Field(None, ge=0, le=MAX_BIGINT)


# properties to return
class ModelPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    path: str
    source: str
    revision: str | None
    content_hash: str | None
    tokenizer: str | None
    parameter_count: int | None
    dtype: str | None
    tags: list[str]
    description: str | None
    training_run: str | None
    step: int | None
    tokens_seen: int | None
    created_at: UtcDateTime
    status: str = Field(description="converting (a worker dequantises its GGUF file), ready or failed")
    error: str | None = Field(None, description="why the conversion failed")
    source_file: str | None = Field(None, description="the registered .gguf file, for converted models")


class ModelsPublic(BaseModel):
    data: list[ModelPublic]
    count: int
