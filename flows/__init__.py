"""Prefect flows and tasks: thin glue that runs the service layer, started by the dispatcher from the outbox.

    fan_out.py      fan-out: a batch of applications, one concurrent task run per department (key fields,
                    suggestion, 秒批, push to the department's system)
    aggregation.py  aggregate: composite opinion (综合审批意见) → license issued (services.aggregation.conclude)
    sweep.py        daily-sweep: obligations' reminders and deadlines, pending notifications
    dispatcher.py   leases due outbox messages (services.outbox_work) and starts those flow runs, renders, notices
    departments.py  the one httpx client to the departments' systems
    deployments.py  applies prefect.yaml (the deployments for Prefect workers)
    runtime.py      points Prefect at its server before Prefect is imported (the CLI calls it)

Importing this package has no side effects: the entry points configure Prefect explicitly (flows/runtime.py)."""
