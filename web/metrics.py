"""/metrics in the Prometheus text format (prometheus_client): request latency by route, and at each scrape the
gauges of `services.queries.metrics` (outbox per kind, open reviews per department and colour, obligations,
applications, licenses, undelivered notices). Admins only: the scrape sends an admin's API token
(`authorization: {credentials: …}` in Prometheus' scrape config); docs/operations.md.

With `serve --api-workers N` each process keeps its own request histogram and a scrape reaches one of them; the
stored-state gauges are the same from any process."""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
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
    recorded: RequestMetrics = request.app.state.request_metrics
    body = generate_latest(recorded.registry) + generate_latest(snapshot)
    return Response(body, media_type=CONTENT_TYPE_LATEST, headers=NO_STORE)
