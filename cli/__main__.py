"""`python -m cli …`: the `onelicense` command, for child processes started with the same interpreter."""

from cli import app

app()
