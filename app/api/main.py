"""The /api/v1 router: includes one router per resource and nothing else."""

from fastapi import APIRouter

from app.api.routes import checkpoints, health, jobs, leaderboard, models

api_router = APIRouter(prefix="/api/v1")
for module in (models, jobs, leaderboard, checkpoints, health):
    api_router.include_router(module.router)
