"""/runs: a training run's checkpoints with results, early estimates, verdicts, and signal/noise per benchmark."""

from __future__ import annotations

from fastapi import APIRouter, Query

from app.api.deps import SessionDep
from app.errors import InvalidRequestError
from app.schemas.runs import RunPublic
from app.services.run_report import build_run_report
from evaluators.signal_noise import NOISE_CHECKPOINTS
from evaluators.templates import DEFAULT_TEMPLATE

router = APIRouter(prefix="/runs", tags=["runs"])


def parse_model_ids(text: str | None, name: str = "signal_models") -> list[int] | None:
    """`1,2,3` as ids; None when empty. A bad list is a 422 naming the parameter."""
    if not text:
        return None
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts or not all(p.isdigit() and 1 <= int(p) <= 2**31 - 1 for p in parts):
        raise InvalidRequestError(f"{name} must be comma-separated model ids, got {text!r}")
    return [int(p) for p in parts]


@router.get("/{name:path}", response_model=RunPublic)
def read_run(name: str, session: SessionDep, template: str = DEFAULT_TEMPLATE,
             noise_checkpoints: int = Query(NOISE_CHECKPOINTS, ge=2, le=1000,
                                            description="n: the noise is measured over the last n checkpoints"),
             signal_models: str | None = Query(None, description="model ids of the signal set (default: the "
                                                                 "leaderboard's complete rows)")) -> RunPublic:
    """A training run: per checkpoint its newest results (one template), running jobs' early estimates ("estimate,
    n of N") and its verdicts against the previous and the best earlier checkpoint (exact McNemar, paired bootstrap
    95% interval, Holm across the checkpoint's benchmarks); per benchmark signal, noise and their ratio."""
    return build_run_report(session, name, template=template, noise_checkpoints=noise_checkpoints,
                            signal_models=parse_model_ids(signal_models))
