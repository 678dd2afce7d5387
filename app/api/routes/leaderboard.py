"""/leaderboard: per model and benchmark, micro accuracy with its 95% interval and n."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter

from app.api.deps import SessionDep
from app.queries.leaderboard import leaderboard_rows
from app.schemas.leaderboard import LeaderboardEntryPublic, LeaderboardPublic

router = APIRouter(prefix="/leaderboard", tags=["leaderboard"])


@router.get("", response_model=LeaderboardPublic)
def read_leaderboard(session: SessionDep, benchmark: str | None = None, tag: str | None = None,
                     run: str | None = None) -> LeaderboardPublic:
    rows = leaderboard_rows(session, benchmark=benchmark, tag=tag, run=run)
    return LeaderboardPublic(data=[LeaderboardEntryPublic(**asdict(r)) for r in rows], count=len(rows))
