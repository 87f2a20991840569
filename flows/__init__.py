"""Prefect flows and tasks: thin glue that runs the domain (forms, review, licenses) against the store.

Importing this package points Prefect at the embedded defaults unless the environment already says otherwise:
its home (and local API database) inside the project's data folder, and no telemetry (the machines of this
project have no route to the internet).
"""

import os
from pathlib import Path

from onelicense.settings import get_settings

os.environ.setdefault("PREFECT_HOME", str(get_settings().data_dir / "prefect"))
Path(os.environ["PREFECT_HOME"]).mkdir(parents=True, exist_ok=True)
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
