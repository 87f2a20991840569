"""Background processes yield the CPU to the API: lowered to ONELICENSE_BACKGROUND_NICENESS, never raised."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

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


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_pools_workers_end_when_the_process_that_started_them_is_killed(tmp_path) -> None:
    script = tmp_path / "pool_then_die.py"
    script.write_text(
        "import multiprocessing, os, sys, time\n"
        "from concurrent.futures import ProcessPoolExecutor\n"
        "from onelicense.services.priority import exit_with_parent\n"
        "def pid(_):\n"
        "    time.sleep(0.2)\n"
        "    return os.getpid()\n"
        "if __name__ == '__main__':\n"
        "    ctx = multiprocessing.get_context('spawn')\n"
        "    pool = ProcessPoolExecutor(2, mp_context=ctx, initializer=exit_with_parent)\n"
        "    print(' '.join(str(p) for p in sorted(set(pool.map(pid, range(8))))), flush=True)\n"
        "    os.kill(os.getpid(), 9)  # killed: no shutdown of the pool\n"
    )
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=os.getcwd())
    workers = [int(p) for p in result.stdout.split()]
    assert len(workers) == 2 and result.returncode == -9
    deadline = time.monotonic() + 20
    while any(_alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(p) for p in workers), "the pool's workers outlived the process that started them"
