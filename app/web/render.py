"""Rendering: one Jinja2 environment (autoescape on), and `respond`, which turns a page's context into HTML or
into its JSON twin. A domain error from the context function becomes an error page (or `{"detail": ...}`)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from app.errors import DomainError

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"

Context = dict[str, Any]


def _pct(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _signed(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:+.{digits}f}"


def _thousands(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def _query(params: dict[str, Any], **changes: Any) -> str:
    """`?a=1&b=2` from `params` with `changes` applied; None or "" values are dropped."""
    merged = {**params, **changes}
    kept = {k: v for k, v in merged.items() if v is not None and v != ""}
    return "?" + urlencode(kept) if kept else ""


def _pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)


def make_environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES_DIR), autoescape=True, undefined=StrictUndefined,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(pct=_pct, signed=_signed, thousands=_thousands, pretty_json=_pretty_json)
    env.globals["query"] = _query
    return env


ENVIRONMENT = make_environment()


def respond(request: Request, template: str, build: Callable[[], Context], *, as_json: bool,
            decorate: Callable[[Context], Context] | None = None) -> Response:
    """Build the context; answer JSON (the context as is) or HTML (the context plus `decorate`'s extras)."""
    try:
        context = build()
    except DomainError as exc:
        if as_json:
            return JSONResponse({"detail": exc.message}, status_code=exc.status_code)
        html = ENVIRONMENT.get_template("error.html").render(request=request, status=exc.status_code,
                                                             message=exc.message, title="Error")
        return HTMLResponse(html, status_code=exc.status_code)
    if as_json:
        return JSONResponse(jsonable_encoder(context))
    extras = decorate(context) if decorate else {}
    return HTMLResponse(ENVIRONMENT.get_template(template).render(request=request, **context, **extras))
