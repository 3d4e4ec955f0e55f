"""`/docs`: Swagger UI served from our own process (the assets of the `swagger-ui-py` package), so the
contract's explorer works where browsers cannot reach a CDN, and its **Authorize** button signs a person in
with the OAuth 2.0 password grant (POST /v1/auth/token)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS = "/docs"
ASSETS = f"{DOCS}/assets"
OAUTH2_REDIRECT = f"{DOCS}/oauth2-redirect"


def swagger_assets() -> Path:
    """The Swagger UI files inside the installed package, found without importing it (its import pulls in
    every web framework adapter it ships)."""
    spec = importlib.util.find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("swagger-ui-py is not installed; `make install` installs it")
    return Path(next(iter(spec.submodule_search_locations))) / "static"


def mount_docs(app: FastAPI, openapi_url: str) -> None:
    app.mount(ASSETS, StaticFiles(directory=swagger_assets()), name="docs-assets")

    @app.get(DOCS, include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} — docs",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png",
            oauth2_redirect_url=OAUTH2_REDIRECT,
            # Tags start folded and the schema list hidden: the contract has ~150 operations, rendering them
            # all made the page slow to answer.
            swagger_ui_parameters={
                "persistAuthorization": True,
                "displayRequestDuration": True,
                "docExpansion": "none",
                "defaultModelsExpandDepth": -1,
                "filter": True,
            },
        )

    @app.get(OAUTH2_REDIRECT, include_in_schema=False)
    async def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()
