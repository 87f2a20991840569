"""prefect.yaml at the top of the repository is the one definition of the deployments: Prefect's own
`prefect deploy --all` applies it against a running server and work pool, as an operator would, and `register`
(what `serve --workers N` calls) applies the same file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from onelicense.flows.deployments import PREFECT_FILE, deployment_name, pool_name, register

REPO = Path(__file__).resolve().parents[2]
FLOWS = {"fan-out": "onelicense.flows.fan_out.fan_out", "aggregate": "onelicense.flows.aggregation.aggregate", "daily-sweep": "onelicense.flows.sweep.daily_sweep"}


def _prefect(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "prefect", "--no-prompt", *args],
        cwd=REPO,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=180,
    )


def _deployments() -> dict[str, object]:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return {f"{client.read_flow(d.flow_id).name}/{d.name}": d for d in client.read_deployments()}


def test_the_package_ships_the_top_level_file() -> None:
    assert PREFECT_FILE.read_bytes() == (REPO / "prefect.yaml").read_bytes()
    assert pool_name() == "onelicense"


@pytest.mark.slow
def test_prefect_deploy_all_from_the_top_level_file(prefect_api: str) -> None:
    created = _prefect("work-pool", "create", "onelicense", "--type", "process", "--overwrite")
    assert created.returncode == 0, created.stdout + created.stderr
    deployed = _prefect("deploy", "--all")
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr

    found = _deployments()
    for flow, entrypoint in FLOWS.items():
        deployment = found[deployment_name(flow)]
        assert deployment.entrypoint == entrypoint  # type: ignore[attr-defined]
        assert deployment.work_pool_name == "onelicense"  # type: ignore[attr-defined]
        assert deployment.pull_steps in (None, [])  # type: ignore[attr-defined]
    [schedule] = found[deployment_name("daily-sweep")].schedules  # type: ignore[attr-defined]
    assert schedule.schedule.cron == "10 0 * * *" and schedule.schedule.timezone == "Asia/Shanghai"


@pytest.mark.slow
def test_register_applies_the_same_file(prefect_api: str, tmp_path: Path) -> None:
    # a changed description in a copy of the file reaches the server: register reads the file, nothing else
    data = yaml.safe_load(PREFECT_FILE.read_text(encoding="utf-8"))
    data["deployments"][1]["description"] = "汇总（测试改写）"
    copy = tmp_path / "prefect.yaml"
    copy.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    names = register(copy)
    assert names == sorted(deployment_name(flow) for flow in FLOWS)
    assert _deployments()[deployment_name("aggregate")].description == "汇总（测试改写）"  # type: ignore[attr-defined]
    register()
    assert "汇总各部门意见" in _deployments()[deployment_name("aggregate")].description  # type: ignore[attr-defined]
