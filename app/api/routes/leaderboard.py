"""/leaderboard: per model and benchmark, micro accuracy with its 95% interval and n."""

from __future__ import annotations

from dataclasses import asdict
from typing import Literal

from fastapi import APIRouter

from app.api.deps import SessionDep
from app.queries.leaderboard import leaderboard_rows
from app.schemas.leaderboard import LeaderboardEntryPublic, LeaderboardPublic
from evaluators.catalog import BENCHMARKS, TEMPLATE_IDS
from evaluators.templates import DEFAULT_TEMPLATE

router = APIRouter(prefix="/leaderboard", tags=["leaderboard"])


BenchmarkName = Literal[BENCHMARKS]  # type: ignore[valid-type]
TemplateId = Literal[TEMPLATE_IDS]  # type: ignore[valid-type]


@router.get("", response_model=LeaderboardPublic)
def read_leaderboard(session: SessionDep, benchmark: BenchmarkName | None = None, tag: str | None = None,
                     run: str | None = None, template: TemplateId = DEFAULT_TEMPLATE) -> LeaderboardPublic:
    """Newest succeeded job per model and benchmark, for one prompt template (default `colossaleval`)."""
    rows = leaderboard_rows(session, benchmark=benchmark, tag=tag, run=run, template=template)
    return LeaderboardPublic(data=[LeaderboardEntryPublic(**asdict(r)) for r in rows], count=len(rows))
