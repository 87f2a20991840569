"""What every command group shares: the database a command may use, the caller behind a token, and one way to
turn our errors into a Chinese message with exit status 1 (the table in onelicense.errors, as the API uses it)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from sqlmodel import Session

    from onelicense.review.roles import Actor

errors = Console(stderr=True)
NO_TOKEN = "访问令牌无效或缺失：用 --token 或环境变量 ONELICENSE_TOKEN 提供（由 onelicense users create 创建）"


def fail(message: str, details: list[str] | None = None) -> NoReturn:
    errors.print(f"[red]{escape(message)}[/red]", soft_wrap=True)
    for line in details or []:
        errors.print(f"  - {escape(line)}", soft_wrap=True)
    raise typer.Exit(1)


@contextmanager
def refusals() -> Iterator[None]:
    """Our errors, printed with exit status 1. The operator at the terminal runs this machine, so an outage shows
    its cause (the API shows the public message only)."""
    from onelicense.errors import ErrorKind, OneLicenseError

    try:
        yield
    except OneLicenseError as exc:
        message = exc.message if exc.kind in (ErrorKind.UNAVAILABLE, ErrorKind.BROKEN) else exc.public_message
        fail(message, [e["message"] for e in exc.error_dicts()])


@contextmanager
def database() -> Iterator[Session]:
    """A session on a database whose schema is current. Only `serve`, `worker`, `demo`, `users create` and
    `db upgrade` migrate: any other command refuses an outdated database instead of changing it behind the
    operator's back."""
    from onelicense.store.db import require_schema, session_scope

    with refusals():
        require_schema()
        with session_scope() as session:
            yield session


@contextmanager
def as_user(token: str | None) -> Iterator[tuple[Session, Actor]]:
    """A session and the Actor of an API token; refusals of the services become messages and exit 1."""
    from onelicense.services.users import authenticate

    with database() as session:
        actor = authenticate(session, token) if token else None
        if actor is None:
            fail(NO_TOKEN)
        yield session, actor
