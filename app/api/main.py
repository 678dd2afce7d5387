"""The /api/v1 router: includes one router per resource and nothing else."""

from fastapi import APIRouter

from app.api.routes import checkpoints, jobs, leaderboard, models
from app.schemas.errors import error_responses

api_router = APIRouter(prefix="/api/v1", responses=error_responses(404, 413, 422))
for module in (models, jobs, leaderboard, checkpoints):
    api_router.include_router(module.router)
