"""`python -m onelicense …`: the `onelicense` command, for child processes started with the same interpreter."""

from onelicense.cli import app

app(prog_name="onelicense")
