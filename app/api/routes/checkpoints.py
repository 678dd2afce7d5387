"""/checkpoints: a training run registers a checkpoint and queues its evaluation jobs in one idempotent call."""

from __future__ import annotations

from fastapi import APIRouter, Response

from app.api.deps import HasherDep, SessionDep, SettingsDep, TokenDep
from app.schemas.checkpoints import CheckpointCreate, CheckpointPublic
from app.schemas.errors import error_responses
from app.schemas.jobs import JobPublic
from app.schemas.models import ModelPublic
from app.services.submission import register_checkpoint

router = APIRouter(prefix="/checkpoints", tags=["checkpoints"])


@router.post("", response_model=CheckpointPublic, status_code=201,
             responses={**error_responses(401, 409),
                        200: {"model": CheckpointPublic, "description": "already registered (same run, step, path)"}})
def create_checkpoint(body: CheckpointCreate, response: Response, session: SessionDep, settings: SettingsDep,
                      hasher: HasherDep, _token: TokenDep) -> CheckpointPublic:
    model, jobs, created = register_checkpoint(session, settings, body, hasher=hasher)
    if not created:
        response.status_code = 200
    return CheckpointPublic(model=ModelPublic.model_validate(model), jobs=[JobPublic.model_validate(j) for j in jobs])
