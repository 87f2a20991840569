"""Prefect flows and tasks: thin glue that runs the service layer, started by the dispatcher from the outbox.

    fan_out.py      fan-out-application: one concurrent task run per department (key fields, suggestion, push)
    aggregation.py  aggregate-application: composite opinion (综合审批意见) → license issued
    dispatcher.py   leases due outbox messages and starts those flow runs
    runtime.py      points Prefect at its server before Prefect is imported (the CLI calls it)

Importing this package has no side effects: the entry points configure Prefect explicitly (flows/runtime.py)."""
