"""The CLI tests run the real commands in-process (typer's runner) or as subprocesses."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _prefect(prefect_api: str) -> str:
    """Every test here may start flow runs (directly or through the dispatcher): the run's Prefect server."""
    return prefect_api
