"""/docs and /redoc served with the Swagger UI and ReDoc files shipped by ``fastapi-offline``.

FastAPI's own pages load their JS and CSS from a CDN and render blank on an offline intranet.
"""

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse

DOCS_STATIC_URL = "/static/docs"
# The browser may load nothing from elsewhere: ReDoc's bundle hard-codes an outside logo image,
# which this blocks before any request is made (the image hides itself on error).
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' blob:; worker-src 'self' blob:; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self' data:; "
    "connect-src 'self'"
)
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"


def _asset_dir() -> Path:
    # The pinned fastapi-offline wheel ships swagger-ui-dist and redoc's standalone bundle.
    return Path(str(files("fastapi_offline") / "static"))


def install_docs(app: FastAPI, openapi_url: str) -> None:
    """Mount the doc assets and add /docs, its OAuth2 redirect and /redoc to ``app``."""
    app.mount(DOCS_STATIC_URL, StaticFiles(directory=_asset_dir()), name="docs-static")
    router = APIRouter(include_in_schema=False)
    title = app.title

    @router.get("/docs")
    def swagger_ui() -> HTMLResponse:
        """Swagger UI with local assets."""
        page = get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} - Swagger UI",
            oauth2_redirect_url=OAUTH2_REDIRECT_URL,
            swagger_js_url=f"{DOCS_STATIC_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_STATIC_URL}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_STATIC_URL}/favicon.png",
            # The default validator badge fetches an image from an outside service.
            swagger_ui_parameters={"validatorUrl": None},
        )
        page.headers["Content-Security-Policy"] = DOCS_CSP
        return page

    @router.get(OAUTH2_REDIRECT_URL)
    def swagger_ui_redirect() -> HTMLResponse:
        """Swagger UI's OAuth2 redirect page."""
        return get_swagger_ui_oauth2_redirect_html()

    @router.get("/redoc")
    def redoc() -> HTMLResponse:
        """ReDoc with local assets and no web fonts from outside."""
        page = get_redoc_html(
            openapi_url=openapi_url,
            title=f"{title} - ReDoc",
            redoc_js_url=f"{DOCS_STATIC_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{DOCS_STATIC_URL}/favicon.png",
            with_google_fonts=False,
        )
        page.headers["Content-Security-Policy"] = DOCS_CSP
        return page

    app.include_router(router)
