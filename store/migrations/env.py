"""Alembic environment: runs on the connection `store.db.migrate` hands over, or on the settings' database when
invoked from the command line."""

from __future__ import annotations

import logging.config
from typing import Any, Literal

from alembic import context
from sqlalchemy.engine import Connection

import onelicense.store.tables
from onelicense.store.db import database_url, get_engine
from onelicense.store.tables.types import EnumText, UTCDateTime

config = context.config
target_metadata = onelicense.store.tables.metadata


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Render our column types as plain SQLAlchemy types, so migrations never import application code that
    may change later (the TypeDecorators only convert values in Python; the DDL is the same)."""
    if type_ != "type":
        return False
    if isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if isinstance(obj, EnumText):
        return f"sa.String(length={obj.impl.length})"
    if type(obj).__name__ == "AutoString":  # sqlmodel's VARCHAR
        length = getattr(obj, "length", None)
        return f"sa.String(length={length})" if length else "sa.String()"
    return False


def _configure(**kwargs: Any) -> None:
    context.configure(
        target_metadata=target_metadata,
        compare_type=True,
        render_item=render_item,
        **kwargs,
    )


def run_offline() -> None:
    _configure(
        url=config.get_main_option("sqlalchemy.url") or database_url(),
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_on(connection: Connection) -> None:
    # SQLite cannot ALTER most things in place: batch mode recreates the table
    _configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_on(connection)
        return
    if config.config_file_name:  # command-line use: alembic.ini's logging
        logging.config.fileConfig(config.config_file_name, disable_existing_loggers=False)
    engine = get_engine(config.get_main_option("sqlalchemy.url") or None)
    with engine.begin() as connection:
        _run_on(connection)


if context.is_offline_mode():
    run_offline()
else:
    run_online()
