"""/healthz (the process answers) and /readyz (fit to serve: services.queries.health, plus the Prefect API),
for load balancers and monitoring. Open to all, like the public pages: they name no person and no secret."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from onelicense.flows.runtime import configured_api_reachable
from onelicense.services.queries import health
from onelicense.web.public import NO_STORE

router = APIRouter(tags=["运维"])


@router.get("/healthz", summary="存活检查", response_model=dict[str, str])
def healthz() -> JSONResponse:
    """进程可以应答即为存活（不检查数据库等依赖，见 /readyz）。"""
    return JSONResponse({"status": "ok"}, headers=NO_STORE)


@router.get(
    "/readyz",
    summary="就绪检查",
    responses={503: {"description": "至少一项检查未通过（见 checks）"}},
)
def readyz() -> JSONResponse:
    """数据库（可连接、结构最新）、后台工作派发、Prefect API、签名密钥、工作日历覆盖期、数据目录空间：
    全部通过（或仅有提醒）时 200，否则 503。每项给出中文说明与检查结果。"""
    result = health.readiness(configured_api_reachable)
    return JSONResponse(result.as_dict(), status_code=200 if result.ready else 503, headers=NO_STORE)
