"""A permit never reads 有效 while its license does not (issue 26): every door — the verify page (HTML and JSON),
/publicity (HTML, JSON and its CSV), the API's application answer and the department's desk — shows each permit's
effective status, the more restrictive of its own and its license's, with the same word and the same "随许可证…"
note; restoring the license brings each permit back to what its department decided."""

from __future__ import annotations

import csv
import html
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from onelicense.errors import Conflict
from onelicense.licenses.status import Operation
from onelicense.review.roles import SYSTEM_ACTOR, Role
from onelicense.services import changes, licenses, users
from onelicense.services.queries import queue_board
from onelicense.store.tables.application import Application
from onelicense.store.tables.license import License
from onelicense.store.tables.user import User
from tests.builders import ADMIN, approved, conditions_for, reviewer, valid_application
from tests.licenses.conftest import public_app_client

HOTEL = ("HOTEL_SPECIAL_TRADE", "PUBLIC_HEALTH", "SECONDARY_WATER_SUPPLY_HEALTH", "FIRE_SAFETY_CHECK")
JSON = {"Accept": "application/json"}

Shown = dict[str, tuple[str, str | None]]  # permit number → (status label, note)


@pytest.fixture
def client(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    yield from public_app_client(db_url, tmp_path, monkeypatch)


@pytest.fixture
def holder(session: Session) -> tuple[License, dict[str, str]]:
    """A hotel's license and its holder's API credentials."""
    answers, _ = valid_application("HOTEL", conditions=conditions_for("HOTEL", HOTEL))
    user, token = users.create_user(session, "宾馆持证人", Role.APPLICANT, usccs=[answers["uscc"]])
    application = approved(
        session, users.actor_of(user), "HOTEL", conditions=conditions_for("HOTEL", HOTEL), uscc=answers["uscc"]
    )
    return licenses.issue_license(session, SYSTEM_ACTOR, application.id), {"Authorization": f"Bearer {token}"}


def every_door(client: TestClient, session: Session, license_: License, as_holder: dict[str, str]) -> dict[str, Shown]:
    """What each door says of each permit of `license_`."""
    doors: dict[str, Shown] = {}
    view = client.get(f"/v/{license_.token}", headers=JSON).json()
    doors["verify.json"] = {p["number"]: (p["status"]["label"], p["status_note"]) for p in view["permits"]}
    page = client.get(f"/v/{license_.token}").text
    table = page[page.index("<h1>许可事项</h1>") :]
    doors["verify.html"] = {}
    for number in doors["verify.json"]:
        cell = re.search(rf"<td[^>]*>{re.escape(number)}</td>", table)
        assert cell is not None, number
        row = table[cell.start() :]
        row = row[: row.index("</tr>")]
        label = re.search(r'<span class="status s\d\d">([^<]+)</span>', row)
        note = re.search(r'<span class="muted">([^<]+)</span>', row)
        assert label is not None
        doors["verify.html"][number] = (label.group(1), html.unescape(note.group(1)) if note else None)
    listed = client.get("/publicity", params={"q": license_.number}, headers=JSON).json()["items"]
    assert len(listed) == 1
    doors["publicity.json"] = {p["number"]: (p["status"]["label"], p["status_note"]) for p in listed[0]["permits"]}
    download = client.get("/publicity.csv", params={"q": license_.number})
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(download.content.decode("utf-8-sig"))))
    doors["publicity.csv"] = {r["许可编号"]: (r["许可状态"], r["状态说明"] or None) for r in rows}
    answer = client.get(f"/api/applications/{license_.application_id}", headers=as_holder)
    assert answer.status_code == 200, answer.text
    permits = answer.json()["license"]["permits"]
    doors["api"] = {p["number"]: (p["status"]["label"], p["status_note"]) for p in permits}
    doors["desk"] = {}
    for department in sorted({p.department_code for p in licenses.permits_of(session, license_.id)}):
        for item in queue_board.department_licenses(session, reviewer(department), q=license_.number).items:
            doors["desk"].update({p.permit.number: (p.status.label, p.effective.note) for p in item.permits})
    return doors


def assert_every_door_says(doors: dict[str, Shown], expected: Shown) -> None:
    for door, shown in doors.items():
        assert shown == expected, door


@pytest.mark.parametrize(
    ("operation", "label"),
    [(Operation.SUSPEND, "暂扣"), (Operation.WITHDRAW, "撤销"), (Operation.CANCEL, "注销"), (Operation.REVOKE, "吊销")],
)
def test_a_whole_license_operation_shows_on_every_permit_at_every_door(
    client: TestClient, session: Session, holder: tuple[License, dict[str, str]], operation: Operation, label: str
) -> None:
    license_, as_holder = holder
    before = every_door(client, session, license_, as_holder)
    numbers = sorted(before["verify.json"])
    assert len(numbers) == len(HOTEL)
    assert_every_door_says(before, {n: ("有效", None) for n in numbers})

    licenses.change_license(session, ADMIN, license_.number, operation, reason="依法处理")

    after = every_door(client, session, license_, as_holder)
    assert_every_door_says(after, {n: (label, f"随许可证{label}") for n in numbers})
    view = client.get(f"/v/{license_.token}", headers=JSON).json()
    assert view["status"]["label"] == view["license_status"]["label"] == label
    # the whole-license event once in the public history, not once per permit
    assert [(h["event"], h["permit"]) for h in view["history"] if h["event"] == label] == [(label, None)]


def test_restoring_the_license_brings_each_permit_back_to_its_own_status(
    client: TestClient, session: Session, holder: tuple[License, dict[str, str]]
) -> None:
    license_, as_holder = holder
    numbers = sorted(every_door(client, session, license_, as_holder)["verify.json"])
    pool = next(n for n in numbers if n.endswith("-02"))
    permit = next(p for p in licenses.permits_of(session, license_.id) if p.number == pool)
    # its own department suspended one permit first
    licenses.change_permit(session, reviewer(permit.department_code), pool, Operation.SUSPEND, reason="整改")

    licenses.change_license(session, ADMIN, license_.number, Operation.SUSPEND, reason="依法暂扣")
    suspended = every_door(client, session, license_, as_holder)
    # the permit suspended on its own keeps its own status (and no note); the others follow the license
    assert_every_door_says(suspended, {n: ("暂扣", None if n == pool else "随许可证暂扣") for n in numbers})

    licenses.change_license(session, ADMIN, license_.number, Operation.RESTORE, reason="整改完毕")
    restored = every_door(client, session, license_, as_holder)
    assert_every_door_says(restored, {n: ("暂扣" if n == pool else "有效", None) for n in numbers})


def test_an_ended_license_takes_no_change_renewal_or_permit_operation(
    client: TestClient, session: Session, holder: tuple[License, dict[str, str]]
) -> None:
    license_, as_holder = holder
    licenses.change_license(session, ADMIN, license_.number, Operation.REVOKE, reason="依法吊销")
    before = every_door(client, session, license_, as_holder)

    moved = client.post(f"/api/licenses/{license_.number}/change",
                        json={"answers": {"business_address": "重庆市南岸区南坪正街5号"}}, headers=as_holder)  # fmt: skip
    assert moved.status_code == 409 and "吊销" in moved.json()["detail"], moved.text
    renewal = client.post(f"/api/licenses/{license_.number}/renewal", json={}, headers=as_holder)
    assert renewal.status_code == 409 and "吊销" in renewal.json()["detail"], renewal.text
    with pytest.raises(Conflict, match="吊销"):  # adding a permit is a change: refused the same way
        changes.request_change(session, users.actor_of(_holder_user(session, license_)), license_.number,
                               answers={"has_pool": True})  # fmt: skip
    permit = licenses.permits_of(session, license_.id)[0]
    with pytest.raises(Conflict, match="许可证已吊销"):
        licenses.change_permit(session, reviewer(permit.department_code), permit.number, Operation.RESTORE,
                               reason="发还")  # fmt: skip
    desk = queue_board.department_licenses(session, reviewer(permit.department_code), q=license_.number)
    assert all(p.operations == () for item in desk.items for p in item.permits)  # the desk offers none

    assert every_door(client, session, license_, as_holder) == before  # nothing changed


def _holder_user(session: Session, license_: License) -> User:
    application = session.get(Application, license_.application_id)
    assert application is not None and application.submitted_by is not None
    user = session.get(User, application.submitted_by)
    assert user is not None
    return user
