"""The interactive API documentation (/docs: Swagger UI, /redoc: ReDoc) from assets shipped in the package.

FastAPI's own pages load both from a CDN (and ReDoc's fonts from Google): blank on a government intranet with no
internet. Here the pages are templates and the scripts are files in web/static/docs/ (with their licences), so
nothing is fetched from outside at run time. The files are swagger-ui-dist 5.35.0 and redoc 2.5.4 from npm, as
published but for two lines: ReDoc's sidebar logo (cdn.redoc.ly) has an empty source, so it hides itself instead
of being fetched, and its source-map comment is dropped (the map is not shipped)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from onelicense.templating import environment

ASSETS = "/static/docs"
SWAGGER_JS = "swagger-ui-bundle-5.35.0.js"
SWAGGER_CSS = "swagger-ui-5.35.0.css"
REDOC_JS = "redoc-2.5.4.standalone.js"
PATHS = ("/docs", "/redoc")


def install(app: FastAPI) -> None:
    """Serve /docs and /redoc for `app` (created with docs_url=None, redoc_url=None)."""
    page = {
        "title": app.title,
        "openapi_url": app.openapi_url,
        "assets": ASSETS,
        "swagger_js": SWAGGER_JS,
        "swagger_css": SWAGGER_CSS,
        "redoc_js": REDOC_JS,
    }

    templates = environment()
    swagger = templates.get_template("docs/swagger.html.j2").render(page)
    redoc_page = templates.get_template("docs/redoc.html.j2").render(page)

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return HTMLResponse(swagger)

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return HTMLResponse(redoc_page)
