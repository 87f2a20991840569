"""Background processes: their CPU priority (where the dispatcher, its certificate renderers and Prefect share a
machine with the API, requests are answered first and the background work takes the rest, docs/operations.md),
and the end of a pool's workers with the process that started them."""

from __future__ import annotations

import os
import threading
import time

from onelicense.settings import get_settings


def yield_to_requests(pid: int = 0) -> None:
    """Lower process `pid` (0: this one) to ONELICENSE_BACKGROUND_NICENESS; the processes it starts afterwards
    inherit it. Never raises a priority (that needs privileges); a process that is gone or may not be changed is
    left as it is: a start never fails for it."""
    try:
        wanted = get_settings().background_niceness
        if os.getpriority(os.PRIO_PROCESS, pid) < wanted:
            os.setpriority(os.PRIO_PROCESS, pid, wanted)
    except OSError:
        pass


def exit_with_parent(interval: float = 0.5) -> None:
    """A process pool's initializer: the worker ends once the process that started it is gone. A dispatcher killed
    before it could shut its pool down otherwise leaves its renderers behind, each waiting for work on a pipe that
    nobody writes to any more."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
