"""Users and API tokens."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from onelicense.errors import Forbidden, InvalidRequest, NotFound
from onelicense.forms.identifiers import uscc_check_char
from onelicense.review.roles import Actor, Role
from onelicense.services import users
from onelicense.store import audit
from onelicense.store.tables import User
from tests.builders import ADMIN
from tests.store.conftest import FIRE

HOLDER = "91500107MA5U7K2X3" + uscc_check_char("91500107MA5U7K2X3")  # the business the applicant acts for


def test_token_authenticates_as_the_users_actor(session: Session) -> None:
    user, token = users.create_user(session, "消防审批员 张三", Role.REVIEWER, FIRE)
    assert users.authenticate(session, token) == Actor(user.id, Role.REVIEWER, FIRE)
    applicant, applicant_token = users.create_user(session, "申请人", "applicant", usccs=[HOLDER])
    # an account an administrator creates is vouched for: its binding is verified
    assert users.authenticate(session, applicant_token) == Actor(
        applicant.id, Role.APPLICANT, None, usccs=frozenset({HOLDER}), verified_usccs=frozenset({HOLDER})
    )


def test_only_the_hash_of_the_token_is_stored(session: Session) -> None:
    _, token = users.create_user(session, "管理员", Role.ADMIN)
    (stored,) = session.exec(select(User)).all()
    assert stored.token_hash == users.hash_token(token) and token not in stored.token_hash
    (event,) = audit.events_for(session, "user", stored.id)
    assert token not in str(event.after) and stored.token_hash not in str(event.after)


@pytest.mark.parametrize("token", [None, "", "ol_wrong", "😀"], ids=["none", "empty", "wrong", "emoji"])
def test_unknown_or_missing_token_is_nobody(session: Session, token: str | None) -> None:
    users.create_user(session, "管理员", Role.ADMIN)
    assert users.authenticate(session, token) is None


@pytest.mark.parametrize(
    ("role", "department", "message"),
    [
        (Role.REVIEWER, None, "必须属于一个部门"),
        (Role.APPLICANT, FIRE, "只有审批人员"),
        ("wizard", None, "未知的角色"),
        (Role.SYSTEM, None, "不能创建系统角色"),
    ],
    ids=["reviewer-without-department", "applicant-with-department", "unknown-role", "system-role"],
)
def test_role_and_department_must_fit(session: Session, role: str, department: str | None, message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        users.create_user(session, "某人", role, department)
    assert users.list_users(session) == []


def test_tokens_are_unique(session: Session) -> None:
    tokens = {users.create_user(session, f"用户{i}", Role.APPLICANT, usccs=[HOLDER])[1] for i in range(20)}
    assert len(tokens) == 20 and all(t.startswith(users.TOKEN_PREFIX) for t in tokens)


def test_a_revoked_token_authenticates_as_nobody(session: Session) -> None:
    user, token = users.create_user(session, "消防审批员 李四", Role.REVIEWER, FIRE)
    _, other_token = users.create_user(session, "消防审批员 王五", Role.REVIEWER, FIRE)

    revoked = users.revoke_user(session, user.id, actor=ADMIN)

    assert revoked.revoked_at is not None
    assert users.authenticate(session, token) is None
    assert users.authenticate(session, other_token) is not None  # only that user's token stops
    (event,) = [e for e in audit.events_for(session, "user", user.id) if e.action == "user.revoke"]
    assert event.before == {"revoked_at": None} and event.after["revoked_at"]
    assert event.actor == ADMIN.label


def test_revoking_twice_changes_nothing_and_unknown_users_are_not_found(session: Session) -> None:
    user, _ = users.create_user(session, "申请人", Role.APPLICANT, usccs=[HOLDER])
    first = users.revoke_user(session, user.id, actor=ADMIN).revoked_at
    assert users.revoke_user(session, user.id, actor=ADMIN).revoked_at == first
    assert [e.action for e in audit.events_for(session, "user", user.id)].count("user.revoke") == 1
    with pytest.raises(NotFound):
        users.revoke_user(session, "no-such-user", actor=ADMIN)


@pytest.mark.parametrize(
    "actor",
    [Actor("applicant-1", Role.APPLICANT), Actor("reviewer-1", Role.REVIEWER, FIRE)],
    ids=["applicant", "reviewer"],
)
def test_only_admins_revoke(session: Session, actor: Actor) -> None:
    user, token = users.create_user(session, "申请人", Role.APPLICANT, usccs=[HOLDER])
    with pytest.raises(Forbidden):
        users.revoke_user(session, user.id, actor=actor)
    assert users.authenticate(session, token) is not None
