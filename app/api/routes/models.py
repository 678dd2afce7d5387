"""/models: register and read models."""

from __future__ import annotations

from fastapi import APIRouter, Query

from app.api.deps import HasherDep, SessionDep, SettingsDep, TokenDep
from app.queries import models as model_queries
from app.schemas.errors import error_responses
from app.schemas.models import ModelCreate, ModelPublic, ModelsPublic
from app.schemas.types import MAX_ID
from app.services.submission import register_model

router = APIRouter(prefix="/models", tags=["models"])


@router.post("", response_model=ModelPublic, status_code=201, responses=error_responses(401, 409))
def create_model(body: ModelCreate, session: SessionDep, settings: SettingsDep, hasher: HasherDep,
                 _token: TokenDep) -> ModelPublic:
    model = register_model(session, settings, body, hasher=hasher)
    return ModelPublic.model_validate(model)


@router.get("", response_model=ModelsPublic)
def read_models(session: SessionDep, run: str | None = None, offset: int = Query(0, ge=0, le=MAX_ID),
                limit: int = Query(100, ge=1, le=1000)) -> ModelsPublic:
    return ModelsPublic(data=model_queries.list_models(session, run=run, offset=offset, limit=limit),
                        count=model_queries.count_models(session, run=run))


@router.get("/{model_id}", response_model=ModelPublic)
def read_model(model_id: int, session: SessionDep) -> ModelPublic:
    return ModelPublic.model_validate(model_queries.get_model(session, model_id))
