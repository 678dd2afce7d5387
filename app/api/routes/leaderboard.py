"""/leaderboard: per model and benchmark, micro accuracy with its 95% interval and n (the JSON view of
`app.queries.leaderboard.leaderboard`; the page `/` is the other)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter

from app.api.deps import SessionDep
from app.queries.leaderboard import Leaderboard, leaderboard
from app.queries.results import Result
from app.schemas.leaderboard import LeaderboardEntryPublic, LeaderboardPublic, PartialResultPublic
from evaluators.catalog import BENCHMARKS, TEMPLATE_IDS
from evaluators.templates import DEFAULT_TEMPLATE

router = APIRouter(prefix="/leaderboard", tags=["leaderboard"])


BenchmarkName = Literal[BENCHMARKS]  # type: ignore[valid-type]
TemplateId = Literal[TEMPLATE_IDS]  # type: ignore[valid-type]


def leaderboard_entries(board: Leaderboard) -> list[LeaderboardEntryPublic]:
    """One entry per shown result, sorted by benchmark, then accuracy (best first), then model name."""
    models = {m.id: m for m in board.shown}
    entries = []
    for result in board.results:
        model = models[result.model_id]
        entries.append(LeaderboardEntryPublic(
            model_id=model.id, model_name=model.name, benchmark=result.benchmark, template=result.template,
            metric=result.metric, acc=result.acc, ci_low=result.ci_low, ci_high=result.ci_high, n=result.n,
            complete=result.complete, partial=result.partial, job_id=result.job_id,
            newer_partial=_partial(result.newer_partial), training_run=model.training_run, step=model.step,
            tokens_seen=model.tokens_seen, tags=model.tags))
    return sorted(entries, key=lambda e: (e.benchmark, -e.acc, e.model_name))


def _partial(result: Result | None) -> PartialResultPublic | None:
    if result is None:
        return None
    return PartialResultPublic(job_id=result.job_id, acc=result.acc, ci_low=result.ci_low, ci_high=result.ci_high,
                               n=result.n, expected_n=result.expected_n)


@router.get("", response_model=LeaderboardPublic)
def read_leaderboard(session: SessionDep, benchmark: BenchmarkName | None = None, tag: str | None = None,
                     run: str | None = None, template: TemplateId = DEFAULT_TEMPLATE) -> LeaderboardPublic:
    """Newest complete succeeded job per model and benchmark (a newer partial one beside it, never instead of it;
    the newest partial one when there is no complete one), for one prompt template (default `colossaleval`)."""
    entries = leaderboard_entries(leaderboard(session, template=template, benchmark=benchmark, tag=tag, run=run))
    return LeaderboardPublic(data=entries, count=len(entries))
