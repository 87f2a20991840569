from __future__ import annotations

from datetime import date

import pytest

from onelicense.errors import TransitionNotAllowed
from onelicense.licenses.document import mask_name
from onelicense.licenses.status import (
    LicenseStatus,
    Operation,
    PermitState,
    composite_status,
    effective_permit_status,
    next_status,
    permit_status,
)

S = LicenseStatus


def test_status_codes_and_labels_follow_the_e_certificate_vocabulary() -> None:
    assert {s.value: s.label for s in S} == {
        "01": "有效",
        "02": "暂扣",
        "03": "撤销",
        "04": "注销",
        "05": "失效",
        "07": "吊销",
    }


def test_a_valid_permit_expires_the_day_after_its_last_valid_day() -> None:
    last = date(2030, 3, 13)
    assert permit_status(S.VALID, last, date(2030, 3, 13)) is S.VALID
    assert permit_status(S.VALID, last, date(2030, 3, 14)) is S.EXPIRED
    assert permit_status(S.VALID, None, date(2999, 1, 1)) is S.VALID


def test_a_stored_status_other_than_valid_wins_over_expiry() -> None:
    assert permit_status(S.REVOKED, date(2020, 1, 1), date(2030, 1, 1)) is S.REVOKED


def test_composite_is_valid_only_while_every_mandatory_permit_is() -> None:
    ok = [PermitState("A", S.VALID), PermitState("B", S.VALID)]
    assert composite_status(S.VALID, ok).status is S.VALID
    suspended = [PermitState("A", S.VALID), PermitState("B", S.SUSPENDED)]
    result = composite_status(S.VALID, suspended)
    assert (result.status, result.blocking, result.label) == (S.SUSPENDED, ("B",), "暂扣")


def test_an_optional_permit_does_not_block_the_composite() -> None:
    permits = [PermitState("A", S.VALID), PermitState("OPT", S.EXPIRED, mandatory=False)]
    assert composite_status(S.VALID, permits).status is S.VALID


def test_the_most_lasting_reason_is_shown_when_several_permits_block() -> None:
    permits = [PermitState("A", S.SUSPENDED), PermitState("B", S.EXPIRED), PermitState("C", S.REVOKED)]
    result = composite_status(S.VALID, permits)
    assert result.status is S.REVOKED
    assert result.blocking == ("A", "B", "C")


def test_a_whole_license_status_overrides_its_permits() -> None:
    assert composite_status(S.SUSPENDED, [PermitState("A", S.VALID)]).status is S.SUSPENDED


TODAY = date(2026, 12, 4)


@pytest.mark.parametrize(
    ("license_", "permit", "valid_until", "shown", "by_license"),
    [
        (S.VALID, S.VALID, None, S.VALID, False),
        (S.VALID, S.SUSPENDED, None, S.SUSPENDED, False),
        (S.VALID, S.VALID, date(2026, 12, 3), S.EXPIRED, False),
        (S.SUSPENDED, S.VALID, None, S.SUSPENDED, True),
        (S.CANCELLED, S.VALID, None, S.CANCELLED, True),
        (S.WITHDRAWN, S.VALID, None, S.WITHDRAWN, True),
        (S.REVOKED, S.SUSPENDED, None, S.REVOKED, True),
        (S.CANCELLED, S.SUSPENDED, None, S.CANCELLED, True),
        # the more lasting restriction wins; on a tie the permit's own
        (S.SUSPENDED, S.WITHDRAWN, None, S.WITHDRAWN, False),
        (S.SUSPENDED, S.VALID, date(2026, 12, 3), S.EXPIRED, False),
        (S.CANCELLED, S.WITHDRAWN, None, S.WITHDRAWN, False),
        (S.REVOKED, S.WITHDRAWN, None, S.REVOKED, True),
        (S.SUSPENDED, S.SUSPENDED, None, S.SUSPENDED, False),
        (S.CANCELLED, S.CANCELLED, None, S.CANCELLED, False),
    ],
)
def test_a_permit_shows_the_more_restrictive_of_its_own_and_its_licenses_status(
    license_: S, permit: S, valid_until: date | None, shown: S, by_license: bool
) -> None:
    effective = effective_permit_status(license_, permit, valid_until, TODAY)
    assert (effective.status, effective.by_license) == (shown, by_license)
    assert effective.own is permit_status(permit, valid_until, TODAY)  # what the department decided, kept
    assert effective.note == (f"随许可证{shown.label}" if by_license else None)


@pytest.mark.parametrize(
    ("operation", "before", "after"),
    [
        (Operation.SUSPEND, S.VALID, S.SUSPENDED),
        (Operation.RESTORE, S.SUSPENDED, S.VALID),
        (Operation.REVOKE, S.SUSPENDED, S.REVOKED),
        (Operation.CANCEL, S.VALID, S.CANCELLED),
        (Operation.WITHDRAW, S.VALID, S.WITHDRAWN),
        (Operation.RENEW, S.VALID, S.VALID),
    ],
)
def test_allowed_transitions(operation: Operation, before: S, after: S) -> None:
    assert next_status(operation, before, "食品经营许可") is after


@pytest.mark.parametrize(
    ("operation", "before"),
    [
        (Operation.RESTORE, S.VALID),
        (Operation.SUSPEND, S.SUSPENDED),
        (Operation.SUSPEND, S.REVOKED),
        (Operation.RESTORE, S.CANCELLED),
        (Operation.RENEW, S.WITHDRAWN),
    ],
)
def test_refused_transitions_name_the_target_and_status(operation: Operation, before: S) -> None:
    with pytest.raises(TransitionNotAllowed) as info:
        next_status(operation, before, "食品经营许可")
    assert "食品经营许可" in str(info.value)
    assert before.label in str(info.value)


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("张三明", "张*明"),
        ("李四", "李*"),
        ("欧阳娜娜", "欧**娜"),
        ("张\u200b三\u200b明", "张*明"),  # zero-width characters cannot defeat the mask
        ("\u202e明三张", "明*张"),  # nor a bidirectional override
        ("Jose\u0301 Garci\u0301a", "J*********a"),  # a combining accent stays with its letter
    ],
)
def test_a_name_is_masked_by_its_visible_characters(name: str, masked: str) -> None:
    assert mask_name(name) == masked
