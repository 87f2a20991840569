"""Placeholder until its issue fills it."""

import typer

app = typer.Typer(no_args_is_help=True)
