"""The /api/v1 router: includes one router per resource and nothing else."""

from fastapi import APIRouter

from app.api.routes import checkpoints, contamination, exports, jobs, leaderboard, models, runs, webhooks
from app.schemas.errors import error_responses

api_router = APIRouter(prefix="/api/v1", responses=error_responses(404, 413, 422))
for module in (models, exports, jobs, leaderboard, checkpoints, runs, webhooks, contamination):
    api_router.include_router(module.router)
