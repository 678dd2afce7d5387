"""Schemas for contamination indexes, checks, hits and clean-subset scores."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from app.schemas.types import UtcDateTime


class IndexPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    index_id: str
    path: str
    normalisation: str
    n_latin: int
    n_cjk: int
    files: list[dict[str, Any]]
    documents: int
    bytes: int
    ngrams: int
    created_at: UtcDateTime


class CheckPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    benchmark: str
    split: str
    questions: int
    totals: dict[str, int]
    subjects: list[dict[str, Any]]
    record: dict[str, Any]
    created_at: UtcDateTime


class IndexDetailPublic(BaseModel):
    index: IndexPublic
    checks: list[CheckPublic]


class IndexesPublic(BaseModel):
    data: list[IndexPublic]
    count: int


class HitPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    question_id: str
    subject: str
    field: str
    ngram: str
    file: str
    location: int


class HitsPublic(BaseModel):
    data: list[HitPublic]
    count: int


class AccuracyPublic(BaseModel):
    correct: int
    n: int
    acc: float
    stderr: float
    ci_low: float
    ci_high: float


class CleanSplitPublic(BaseModel):
    questions: int
    overall: AccuracyPublic | None
    overlapping: AccuracyPublic | None
    clean: AccuracyPublic | None
    difference: float | None
    diff_low: float | None
    diff_high: float | None
    z_overlap: float | None


class CleanScorePublic(BaseModel):
    model_id: int
    benchmark: str
    job_id: int
    template: str
    index_id: str
    check_id: int
    flagged: int
    split: CleanSplitPublic


class CleanScoresPublic(BaseModel):
    model_id: int
    contamination_index: str | None
    data: list[CleanScorePublic]
