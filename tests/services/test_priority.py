"""Background processes yield the CPU to the API: lowered to ONELICENSE_BACKGROUND_NICENESS, never raised."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from onelicense.services.priority import yield_to_requests
from onelicense.settings import Settings, get_settings


@pytest.fixture
def child() -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def test_a_background_process_is_lowered_to_the_configured_niceness(
    child: subprocess.Popen[bytes], isolated_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONELICENSE_BACKGROUND_NICENESS", str(os.getpriority(os.PRIO_PROCESS, 0) + 7))
    get_settings.cache_clear()
    yield_to_requests(child.pid)
    assert os.getpriority(os.PRIO_PROCESS, child.pid) == os.getpriority(os.PRIO_PROCESS, 0) + 7


def test_a_process_already_lower_keeps_its_priority_and_a_gone_one_is_no_error(
    child: subprocess.Popen[bytes], isolated_settings: Settings
) -> None:
    os.setpriority(os.PRIO_PROCESS, child.pid, 19)
    yield_to_requests(child.pid)  # 10 by default: raising it back would need privileges, and is not wanted
    assert os.getpriority(os.PRIO_PROCESS, child.pid) == 19
    child.kill()
    child.wait()
    yield_to_requests(child.pid)
