"""Schemas for the leaderboard."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class PartialResultPublic(BaseModel):
    """A partial result (fewer questions than the benchmark has) newer than the complete one it accompanies."""

    job_id: int
    acc: float = Field(description="micro accuracy in percent, over the questions it scored")
    ci_low: float
    ci_high: float
    n: int
    expected_n: int | None


class LeaderboardEntryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    model_id: int
    model_name: str
    benchmark: str
    template: str
    metric: str
    acc: float = Field(description="micro accuracy in percent")
    ci_low: float = Field(description="95% interval, lower bound (percent)")
    ci_high: float = Field(description="95% interval, upper bound (percent)")
    n: int
    complete: bool
    partial: bool = Field(description="fewer questions than expected; shown only when no complete result exists")
    job_id: int
    newer_partial: PartialResultPublic | None = Field(
        None, description="a partial result newer than this complete one; it never replaces it")
    training_run: str | None
    step: int | None
    tokens_seen: int | None
    tags: list[str]


class LeaderboardPublic(BaseModel):
    data: list[LeaderboardEntryPublic]
    count: int
