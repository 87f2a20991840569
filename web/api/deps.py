"""Dependencies shared by the API routes: a database session per request, the caller, typed path parameters."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path
from sqlmodel import Session

from onelicense.store.db import session_scope
from onelicense.web.auth import CurrentActor, current_actor

__all__ = ["ApplicationId", "CurrentActor", "DbSession", "ReviewId", "current_actor", "db_session"]

ID_PATTERN = r"^[0-9a-f]{32}$"  # store ids: uuid4 as 32 hex digits


def db_session() -> Iterator[Session]:
    """One session per request, closed (and rolled back on error) afterwards."""
    with session_scope() as session:
        yield session


DbSession = Annotated[Session, Depends(db_session)]
ApplicationId = Annotated[str, Path(pattern=ID_PATTERN, description="申请 ID（32 位十六进制）")]
ReviewId = Annotated[str, Path(pattern=ID_PATTERN, description="审查任务 ID（32 位十六进制）")]
