"""The Prefect server `serve` and `demo` start is the one its UI shows, on whatever port it runs."""

from __future__ import annotations

import httpx


def test_the_ui_of_a_server_on_a_non_default_port_talks_to_that_server(prefect_api: str) -> None:
    # the run's server was started by PrefectServer on a free port, never 4200
    port = int(prefect_api.rsplit(":", 1)[1].split("/")[0])
    assert port != 4200
    settings = httpx.get(prefect_api.removesuffix("/api") + "/ui-settings", timeout=10).json()
    assert settings["api_url"] == prefect_api
