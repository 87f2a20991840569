"""FastAPI application factory: mounts the API routers and the public pages."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import Response

from onelicense.errors import OneLicenseError
from onelicense.licenses.fonts import printable_codepoints
from onelicense.services import catalog as catalogs
from onelicense.settings import get_settings
from onelicense.web import api, credit, docs, health, metrics, portal, public
from onelicense.web.auth import has_credentials
from onelicense.web.errors import install_error_handlers
from onelicense.web.middleware import Admission, Guard
from onelicense.web.requestlog import RequestId, RouteTemplates

log = logging.getLogger("onelicense.web.app")
READY = "API process %d ready"


@asynccontextmanager
async def _warm(app: FastAPI) -> AsyncIterator[None]:
    """Read what the first requests would otherwise each wait for: the catalog, the certificate fonts' glyphs
    (checked at every submission), and the OpenAPI document whose paths name the routes in the request log (built
    on the event loop, ~0.5 s: at the first response of a cold worker every request in flight waited for it)."""
    catalogs.catalog()
    printable_codepoints()
    app.openapi()
    # uvicorn accepts connections once this returns; with --api-workers N, one line per worker (bench/serve_process
    # waits for all N: a burst sent when one answers lands on that one alone)
    log.info(READY, os.getpid())
    yield


def _page_error(request: Request, exc: OneLicenseError) -> Response | None:
    """A refusal on a page a person opened, as a page: the portal's own, else a public page's (None: JSON)."""
    return portal.page_error(request, exc) or public.public_error_page(request, exc)


def create_app() -> FastAPI:
    app = FastAPI(
        title="onelicense 一业一证",
        description="一业一证：一表申请、并联审批、综合许可证与公开核验",
        version="0.1.0",
        lifespan=_warm,
        docs_url=None,  # served by web.docs from the package's own assets, never a CDN
        redoc_url=None,
    )
    app.include_router(api.router)
    app.include_router(public.router)
    app.include_router(credit.router)
    app.include_router(health.router)
    app.include_router(metrics.router)
    portal.install(app)
    docs.install(app)
    install_error_handlers(app)
    app.state.page_errors = _page_error
    settings = get_settings()
    app.add_middleware(Admission, limit=settings.max_concurrent_requests)
    # outermost: refuses before queueing; material uploads may be larger than any other body
    upload_limit = settings.upload_max_bytes + 64 * 1024  # the multipart envelope around the file
    app.add_middleware(
        Guard,
        max_body_bytes=settings.max_body_bytes,
        larger_bodies=[
            (portal.UPLOAD_PATH_PATTERN, upload_limit),
            (portal.HAND_IN_PATH_PATTERN, upload_limit * portal.HAND_IN_FILES),
        ],
        credentials=has_credentials,
    )
    app.state.request_metrics = metrics.RequestMetrics()
    # outermost: a refused request has its id, its line and its place in the latency histogram too
    templates = RouteTemplates(lambda: app.openapi()["paths"])
    app.add_middleware(RequestId, observe=app.state.request_metrics.observe, templates=templates)
    return app
