"""Server-rendered pages (leaderboard, model, job, training run, compare, queue), each with a JSON twin built from
the same context function. `include(app)` mounts them and the static files; `app.main` calls it."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


def include(app: FastAPI) -> None:
    from app.web import compare_page, job_page, leaderboard, model_page, queue_page, run_page

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in (leaderboard, model_page, job_page, run_page, compare_page, queue_page):
        for route in module.router.routes:  # pages answer HEAD like GET (monitors and link checkers use it)
            if isinstance(route, APIRoute) and "GET" in route.methods:
                route.methods.add("HEAD")
        app.include_router(module.router)
