"""Fixed-window rate limits kept in the database, so every API process and every worker counts the same hits.

A hit is counted atomically (one INSERT … ON CONFLICT DO NOTHING, one UPDATE … RETURNING) in a transaction of its
own, committed at once: a refused or failing request still counts, and two processes never both take the last
slot. Keys name what is limited and hash what is personal (`key_of`)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, case, literal, update
from sqlmodel import Session, col

from onelicense.clock import utcnow
from onelicense.store.bulk import insert_missing
from onelicense.store.tables.identity import RateCounter
from onelicense.store.tables.types import UTCDateTime


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    hits: int
    retry_after: int  # seconds until the window ends (0 when allowed)


def key_of(kind: str, value: str) -> str:
    """`kind:<sha256 of value>`: the table never holds a phone number or an address in clear."""
    return f"{kind}:{hashlib.sha256(value.encode('utf-8', 'surrogatepass')).hexdigest()[:40]}"


def engine_of(session: Session) -> Engine:
    bind = session.get_bind()
    return bind if isinstance(bind, Engine) else bind.engine


def hit(engine: Engine, key: str, *, limit: int, window: timedelta, now: datetime | None = None) -> Verdict:
    """Count one hit of `key` in its current window; allowed while the window holds at most `limit` hits."""
    now = now or utcnow()
    expired = now - window
    with Session(engine) as session:
        insert_missing(session, RateCounter, [{"key": key, "window_start": now, "hits": 0}])
        fresh = col(RateCounter.window_start) <= literal(expired, UTCDateTime)
        statement = (
            update(RateCounter)
            .where(col(RateCounter.key) == key)
            .values(
                hits=case((fresh, 1), else_=col(RateCounter.hits) + 1),
                window_start=case((fresh, literal(now, UTCDateTime)), else_=col(RateCounter.window_start)),
            )
            .returning(col(RateCounter.hits), col(RateCounter.window_start))
        )
        hits, started = session.execute(statement).one()
        session.commit()
    if hits <= limit:
        return Verdict(True, int(hits), 0)
    return Verdict(False, int(hits), max(1, int((started + window - now).total_seconds()) + 1))


def forget(engine: Engine, key: str) -> None:
    """Drop a key's count (an administrator lifts a limit)."""
    with Session(engine) as session:
        row = session.get(RateCounter, key)
        if row is not None:
            session.delete(row)
            session.commit()
