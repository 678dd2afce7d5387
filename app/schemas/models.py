"""Schemas for registered models."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.fields import STRICT, Description, ModelPath, Name, Revision, RunName, Tags
from app.schemas.types import MAX_BIGINT, UtcDateTime


# properties to receive when registering a model
class ModelCreate(BaseModel):
    model_config = STRICT

    name: Name = Field(description="unique after NFKC normalisation, trimming and case folding; not all digits")
    path: ModelPath = Field(description="local directory, a .gguf file (converted by a worker; the model shows "
                                        "status 'converting' until ready) or Hugging Face Hub id")
    revision: Revision | None = Field(None, description="hub revision; default 'main' for hub ids")
    tags: Tags = Field(default_factory=list)
    description: Description | None = None
    training_run: RunName | None = None
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
    contamination_index: str | None = None  # id of the index of the corpus it was trained on
    status: str = Field(description="converting (a worker dequantises its GGUF file), ready or failed")
    error: str | None = Field(None, description="why the conversion failed")
    source_file: str | None = Field(None, description="the registered .gguf file, for converted models")


class ModelsPublic(BaseModel):
    data: list[ModelPublic]
    count: int
