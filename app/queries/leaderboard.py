"""The leaderboard as one query with two views: the JSON route (`app/api/routes/leaderboard.py`, one entry per
model and benchmark) and the page (`app/web/leaderboard.py`, one row per model). Both call `leaderboard`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.queries.models import list_models
from app.queries.results import Result, latest_results
from app.schemas.models import ModelPublic
from evaluators.templates import DEFAULT_TEMPLATE


@dataclass(frozen=True)
class Leaderboard:
    models: list[ModelPublic]  # every registered model (the page offers their tags and runs as filters)
    shown: list[ModelPublic]  # the models that pass the filters, by id
    results: list[Result]  # their newest results (`latest_results`), by job id


def leaderboard(session: Session, *, template: str = DEFAULT_TEMPLATE, benchmark: str | None = None,
                tag: str | None = None, run: str | None = None,
                name_matches: Callable[[str], object] | None = None) -> Leaderboard:
    """Models filtered by tag, training run and name, and their newest results with `template` (templates are
    never mixed: ColossalEval and harness numbers differ), optionally of one benchmark; two statements."""
    models = list_models(session)
    shown = [m for m in models
             if (not tag or tag in m.tags) and (not run or m.training_run == run)
             and (name_matches is None or name_matches(m.name))]
    if not shown:
        return Leaderboard(models=models, shown=[], results=[])
    ids = None if len(shown) == len(models) else [m.id for m in shown]  # no filter: no id list in the statement
    shown_ids = {m.id for m in shown}
    results = [r for r in latest_results(session, ids, template, benchmark) if r.model_id in shown_ids]
    return Leaderboard(models=models, shown=shown, results=results)
