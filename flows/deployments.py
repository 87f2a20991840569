"""The flows as Prefect deployments, for a Prefect server with workers: the scale-out path.

The one definition is `prefect.yaml` at the top of the repository (shipped in the package as flows/prefect.yaml):
module-path entrypoints into the installed package and a process work pool, so nothing is pulled or built and any
machine with the package installed can serve them. `register` applies it with Prefect's own `prefect deploy --all`,
exactly what an operator runs by hand. The dispatcher starts runs of them (`run_deployment`) instead of running
the flows in its own threads; the outbox stays the source of truth, so a work pool outage only delays work.

    onelicense serve --workers 2     Prefect server, these deployments, 2 Prefect workers, the dispatcher, the API
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from onelicense.errors import Unavailable

PREFECT_FILE = Path(__file__).resolve().with_name("prefect.yaml")


class DeployFailed(Unavailable):
    """`prefect deploy` refused the definition or could not reach the server; the message holds its output."""

    @property
    def public_message(self) -> str:
        return self.message


def definition(path: Path = PREFECT_FILE) -> dict[str, Any]:
    """prefect.yaml as data."""
    data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data


def pool_name(path: Path = PREFECT_FILE) -> str:
    """The work pool the deployments name (one for all of them)."""
    [pool] = {d["work_pool"]["name"] for d in definition(path)["deployments"]}
    return str(pool)


def deployment_name(flow_name: str) -> str:
    """`<flow>/<deployment>` as `run_deployment` takes it (the deployments are named onelicense-<flow name>)."""
    return f"{flow_name}/onelicense-{flow_name}"


def register(path: Path = PREFECT_FILE, timeout: float = 180) -> list[str]:
    """Create the process work pool (if missing) and apply every deployment of `path` with `prefect deploy --all`
    against the Prefect API this process is configured for; returns the deployments' names."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists

    pool = pool_name(path)
    # an earlier start, or the operator made it
    with get_client(sync_client=True) as client, contextlib.suppress(ObjectAlreadyExists):
        client.create_work_pool(WorkPoolCreate(name=pool, type="process"))
    result = subprocess.run(
        [sys.executable, "-m", "prefect", "--no-prompt", "deploy", "--all", "--prefect-file", str(path)],
        cwd=path.parent,
        env={**os.environ, "PREFECT_CLI_PROMPT": "false"},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise DeployFailed(f"部署 Prefect 流程失败（{path}）：{(result.stdout + result.stderr)[-2000:]}")
    with get_client(sync_client=True) as client:
        names = [d["name"] for d in definition(path)["deployments"]]
        found = client.read_deployments()
        return sorted(
            f"{client.read_flow(d.flow_id).name}/{d.name}" for d in found if d.name in names and d.work_pool_name == pool
        )
