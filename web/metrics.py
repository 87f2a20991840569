"""/metrics in the Prometheus text format (prometheus_client): request latency by route, and at each scrape the
gauges of `services.queries.metrics` (outbox per kind, open reviews per department and colour, obligations,
applications, licenses, undelivered notices). Admins only: the scrape sends an admin's API token
(`authorization: {credentials: …}` in Prometheus' scrape config); docs/operations.md.

With `serve --api-workers N` the request histogram is kept in files shared by the worker processes
(prometheus_client's multiprocess mode: `serve` sets PROMETHEUS_MULTIPROC_DIR before the workers start), so a
scrape that reaches any one of them reads the requests of all; the stored-state gauges are the same from any
process."""

from __future__ import annotations

import os
from collections.abc import Iterable

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from onelicense import clock
from onelicense.services.queries import metrics
from onelicense.web.api.deps import CurrentActor, DbSession
from onelicense.web.api.responses import errors
from onelicense.web.public import NO_STORE

router = APIRouter(tags=["运维"])
PREFIX = "onelicense_"


class RequestMetrics:
    """One per app: the request histogram the request-id middleware feeds."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.latency = Histogram(
            PREFIX + "http_request_duration_seconds",
            "请求耗时（秒）：按方法、路由模板与状态码",
            ("method", "route", "status"),
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.latency.labels(method, route, str(status)).observe(seconds)


class _Snapshot(Collector):
    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterable[Metric]:
        return self.families


@router.get(
    "/metrics",
    summary="运行指标（Prometheus）",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}}, "description": "Prometheus 文本格式"},
               **errors(401, 403)},
)  # fmt: skip
def scrape(request: Request, session: DbSession, actor: CurrentActor) -> Response:
    """仅管理员可读（使用管理员的访问令牌抓取）。"""
    families: list[Metric] = []
    for gauge in metrics.gauges(session, actor, clock.today()):
        family = GaugeMetricFamily(PREFIX + gauge.name, gauge.help, labels=list(gauge.labels))
        for labels, value in gauge.samples:
            family.add_metric(list(labels), float(value))
        families.append(family)
    snapshot = CollectorRegistry(auto_describe=False)
    snapshot.register(_Snapshot(families))
    body = generate_latest(_recorded(request)) + generate_latest(snapshot)
    return Response(body, media_type=CONTENT_TYPE_LATEST, headers=NO_STORE)


def _recorded(request: Request) -> CollectorRegistry:
    """The request histogram: this process's, or every worker's when they share their files (multiprocess mode)."""
    if os.environ.get(MULTIPROCESS_DIR):
        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
        return merged
    recorded: RequestMetrics = request.app.state.request_metrics
    return recorded.registry


MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
