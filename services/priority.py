"""The CPU priority of background processes: where the dispatcher, its certificate renderers and Prefect share a
machine with the API, requests are answered first and the background work takes the rest (docs/operations.md)."""

from __future__ import annotations

import os

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
