"""`/docs` (Swagger UI) and `/redoc` served entirely by the application: the JavaScript and CSS come from the
`fastapi-offline` package (which ships Swagger UI and ReDoc with their licences), mounted at `/static/api-docs`,
so the API documentation works on a machine without internet access (FastAPI's defaults load from a CDN)."""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS_DIR = Path(fastapi_offline.__file__).resolve().parent / "static"
ASSETS_URL = "/static/api-docs"
# ReDoc's sidebar shows a logo from cdn.redoc.ly: the policy keeps images, fonts and fetches on this server
LOCAL_ONLY = "img-src 'self' data:; font-src 'self' data:; connect-src 'self'"


def include_docs(app: FastAPI) -> None:
    """Mount the assets and the two documentation pages (create the app with `docs_url=None, redoc_url=None`)."""
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS_DIR), name="api-docs")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        page = get_swagger_ui_html(openapi_url=openapi_url, title=f"{app.title} · API",
                                   swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
                                   swagger_favicon_url=f"{ASSETS_URL}/favicon.png")
        page.headers["Content-Security-Policy"] = LOCAL_ONLY
        return page

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        page = get_redoc_html(openapi_url=openapi_url, title=f"{app.title} · API",
                              redoc_js_url=f"{ASSETS_URL}/redoc.standalone.js",
                              redoc_favicon_url=f"{ASSETS_URL}/favicon.png", with_google_fonts=False)
        page.headers["Content-Security-Policy"] = LOCAL_ONLY
        return page
