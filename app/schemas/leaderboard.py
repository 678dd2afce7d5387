"""Schemas for the leaderboard."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


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
    job_id: int
    training_run: str | None
    step: int | None
    tokens_seen: int | None
    tags: list[str]


class LeaderboardPublic(BaseModel):
    data: list[LeaderboardEntryPublic]
    count: int
