"""`python -m cli …`: the `onelicense` command, for child processes started with the same interpreter."""

from onelicense.cli import app

app()
