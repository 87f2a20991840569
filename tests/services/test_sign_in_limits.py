"""Sign-in that holds under attack (issue 17, H1, M4, M5), on SQLite and PostgreSQL: every attempt is counted
before the password is hashed, atomically, so 30 guesses sent at once get at most LOGIN_MAX_FAILURES checked; a
stranger cannot lock an owner out; a service hall behind one address is not locked out by its neighbours'
mistakes; argon2 runs in a bounded pool; passwords follow ASVS 2.1; a changed or reset password ends sessions."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
import time_machine
from sqlmodel import Session, select

from onelicense.errors import InvalidRequest, TooManyRequests, Unauthenticated
from onelicense.review.roles import Actor, Role
from onelicense.services import accounts, users
from onelicense.settings import Settings
from onelicense.store.db import get_session
from onelicense.store.tables.portal import WebSession

PASSWORD = "Correct-Horse-Battery-9"
ADMIN = Actor("admin-1", Role.ADMIN)


@pytest.fixture
def reviewer(session: Session, isolated_settings: Settings) -> str:
    users.create_user(session, "王审批", Role.REVIEWER, "SCJG", login="wang", password_hash=accounts.hash_password(PASSWORD))
    return "wang"


@pytest.fixture
def hashes(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """How many passwords were checked (argon2 verify calls)."""
    counted = [0]
    lock = threading.Lock()
    real = accounts._hasher.verify

    def verify(password: str, hash_: str) -> bool:
        with lock:
            counted[0] += 1
        return real(password, hash_)

    monkeypatch.setattr(accounts._hasher, "verify", verify)
    yield counted


def _attempt(db_url: str, login: str, password: str, client: str, barrier: threading.Barrier | None = None) -> str:
    session = get_session(db_url)
    try:
        if barrier is not None:
            barrier.wait()
        accounts.sign_in(session, login, password, client=client)
        return "signed in"
    except Unauthenticated:
        return "wrong"
    except TooManyRequests:
        return "wait"
    finally:
        session.close()


def test_thirty_guesses_at_once_get_at_most_five_checked(db_url: str, reviewer: str, hashes: list[int]) -> None:
    barrier = threading.Barrier(30)
    guesses = [f"guess-{n}-wrong" for n in range(30)]
    # the clock stands still: what is measured is the counting, not how fast argon2 lets the delays run out
    with time_machine.travel(datetime(2026, 12, 4, 10, tzinfo=UTC), tick=False):
        with ThreadPoolExecutor(30) as pool:
            outcomes = list(pool.map(lambda p: _attempt(db_url, reviewer, p, "203.0.113.7", barrier), guesses))
        assert hashes[0] <= 5 and outcomes.count("wrong") == hashes[0] and outcomes.count("wait") >= 25
        # the right password now waits too, refused without being checked
        assert _attempt(db_url, reviewer, PASSWORD, "203.0.113.7") == "wait"
        assert outcomes.count("wrong") == hashes[0]


def test_a_strangers_failures_do_not_lock_the_owner_out(db_url: str, reviewer: str) -> None:
    for n in range(5):
        assert _attempt(db_url, reviewer, f"wrong-{n}-guess!", "198.51.100.66") == "wrong"
    assert _attempt(db_url, reviewer, "another-guess-1", "198.51.100.66") == "wait"  # the stranger now waits
    assert _attempt(db_url, reviewer, PASSWORD, "192.0.2.10") == "signed in"  # the owner, from its own desk


def test_a_hall_behind_one_address_still_signs_in(db_url: str, reviewer: str) -> None:
    """Twenty people at a service hall mistype made-up accounts from one NAT address; a reviewer then signs in."""
    for n in range(20):
        assert _attempt(db_url, f"1380000{n:04d}", "not-my-password", "10.0.0.1") == "wrong"
    assert _attempt(db_url, reviewer, PASSWORD, "10.0.0.1") == "signed in"


def test_password_hashing_is_bounded_and_answers_busy_at_once(
    db_url: str, reviewer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(accounts, "_hash_slots", threading.BoundedSemaphore(1))
    monkeypatch.setenv("ONELICENSE_PASSWORD_HASH_WAIT_SECONDS", "0.2")
    from onelicense.settings import get_settings

    get_settings.cache_clear()
    assert accounts._hash_slots is not None
    accounts._hash_slots.acquire()  # another request is hashing
    busy = get_session(db_url)
    try:
        with pytest.raises(accounts.HashingBusy):
            accounts.sign_in(busy, reviewer, PASSWORD, client="192.0.2.11")
    finally:
        accounts._hash_slots.release()
        busy.close()
    assert _attempt(db_url, reviewer, PASSWORD, "192.0.2.11") == "signed in"


@pytest.mark.parametrize(
    "weak", ["password1", "Password1234", "qwertyuiop123", "wang12345678", "abcdefghijkl", "short-1A"]
)
def test_weak_common_or_personal_passwords_are_refused(weak: str) -> None:
    with pytest.raises(InvalidRequest, match="密码"):
        accounts.hash_password(weak, "wang", "王审批", "13800000000")


def test_changing_the_password_ends_the_other_sessions_and_a_reset_ends_all(
    db_url: str, session: Session, reviewer: str
) -> None:
    first = accounts.sign_in(session, reviewer, PASSWORD, client="192.0.2.1")
    second = accounts.sign_in(session, reviewer, PASSWORD, client="192.0.2.2")
    new = "Another-Long-Phrase-42"
    with pytest.raises(InvalidRequest, match="当前密码不正确"):
        accounts.change_password(session, first.actor, "wrong-current-1", new, keep=first.cookie)
    accounts.change_password(session, first.actor, PASSWORD, new, keep=first.cookie)
    assert accounts.session_actor(session, first.cookie) is not None
    assert accounts.session_actor(session, second.cookie) is None
    assert _attempt(db_url, reviewer, PASSWORD, "192.0.2.3") == "wrong"
    third = accounts.sign_in(session, reviewer, new, client="192.0.2.3")
    user = first.user
    accounts.set_password(session, user.id, reviewer, "Reset-By-The-Admin-77", actor=ADMIN)
    assert accounts.session_actor(session, first.cookie) is None and accounts.session_actor(session, third.cookie) is None
    assert session.exec(select(WebSession).where(WebSession.revoked_at.is_(None))).all() == []  # type: ignore[union-attr]
