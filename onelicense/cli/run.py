"""Top-level commands (demo, serve, verify, users). Placeholder until the flow issue fills it."""

import typer


def register(app: typer.Typer) -> None:
    pass
