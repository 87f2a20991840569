"""FastAPI application factory: mounts the API routers and the public pages."""

from __future__ import annotations

from fastapi import FastAPI

from onelicense.settings import get_settings
from web import api, public
from web.errors import install_error_handlers
from web.middleware import Guard


def create_app() -> FastAPI:
    app = FastAPI(
        title="onelicense 一业一证",
        description="一业一证：一表申请、并联审批、综合许可证与公开核验",
        version="0.1.0",
    )
    app.include_router(api.router)
    app.include_router(public.router)
    install_error_handlers(app)
    app.add_middleware(Guard, max_body_bytes=get_settings().max_body_bytes)
    return app
