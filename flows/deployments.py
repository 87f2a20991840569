"""The flows as Prefect deployments, for a Prefect server with workers: the scale-out path.

Defined here in code — module-path entrypoints into the installed package, a process work pool — rather than in
a prefect.yaml: nothing has to be pulled or built, every machine with the package installed can serve them. The
dispatcher starts runs of them (`run_deployment`) instead of running the flows in its own threads; the outbox stays
the source of truth, so a work pool outage only delays work, it never loses any.

    onelicense serve --workers 2     Prefect server, these deployments, 2 Prefect workers, the dispatcher, the API
"""

from __future__ import annotations

import contextlib
from typing import Any

from prefect import Flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.deployments.runner import RunnerDeployment
from prefect.exceptions import ObjectAlreadyExists
from prefect.schedules import Cron
from prefect.types.entrypoint import EntrypointType

from flows.aggregation import aggregate
from flows.fan_out import fan_out
from flows.sweep import daily_sweep

POOL = "onelicense"
FLOWS: dict[str, Flow[Any, Any]] = {"fan-out": fan_out, "aggregate": aggregate, "daily-sweep": daily_sweep}

# the sweep also runs from the dispatcher every `sweep_interval_seconds`: the schedule is the server's own
# guarantee, and the sweep is idempotent, so running it from both is harmless
SCHEDULES = {"daily-sweep": Cron("10 0 * * *", timezone="Asia/Shanghai")}


def deployment_name(flow_name: str) -> str:
    """`<flow>/<deployment>` as `run_deployment` takes it."""
    return f"{flow_name}/onelicense-{flow_name}"


def register(pool: str = POOL) -> list[str]:
    """Create the process work pool (if missing) and (re)apply the deployments; returns their names."""
    with get_client(sync_client=True) as client, contextlib.suppress(ObjectAlreadyExists):  # an earlier start
        client.create_work_pool(WorkPoolCreate(name=pool, type="process"))
    for name, flow in FLOWS.items():
        scheduled = name in SCHEDULES
        RunnerDeployment.from_flow(
            flow,
            name=f"onelicense-{name}",
            work_pool_name=pool,
            entrypoint_type=EntrypointType.MODULE_PATH,
            schedule=SCHEDULES.get(name),
            description="一业一证：每日巡检（承诺履约提醒、逾期、整改期满、延续提醒）"
            if scheduled
            else "一业一证：由调度器按发件箱启动（参数只有编号，不含表单内容）",
        ).apply()
    return [deployment_name(name) for name in FLOWS]
