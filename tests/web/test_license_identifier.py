"""The 证照标识 (GB/T 36904) of an issued license at every door: printed on the certificate, on the verify page and
in its JSON, in the API's answer; the publicity list finds the license by it; a new edition gets a new version."""

from __future__ import annotations

import html
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pypdf
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from onelicense.licenses.identifier import is_valid_identifier, parse_identifier
from onelicense.licenses.status import Operation
from onelicense.review.roles import SYSTEM_ACTOR, Role
from onelicense.services import licenses, users
from onelicense.settings import get_settings
from onelicense.store.tables.license import License
from tests.builders import approved, conditions_for, reviewer, valid_application
from tests.licenses.conftest import public_app_client

JSON = {"Accept": "application/json"}
TYPE_CODE = "11100000000013338W011"  # a type code in the shape of real ones (the defining department's USCC + 3)
ISSUER = "11500107000000001T"


@pytest.fixture
def client(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("ONELICENSE_LICENSE_TYPE_CODE", TYPE_CODE)
    monkeypatch.setenv("ONELICENSE_LICENSE_ISSUER_USCC", ISSUER)
    yield from public_app_client(db_url, tmp_path, monkeypatch)


@pytest.fixture
def holder(client: TestClient, session: Session) -> tuple[License, dict[str, str]]:
    """A convenience store's license and its holder's API credentials."""
    permits = ("FOOD_BUSINESS", "TOBACCO_RETAIL")
    answers, _ = valid_application("CONVENIENCE_STORE", conditions=conditions_for("CONVENIENCE_STORE", permits))
    user, token = users.create_user(session, "便利店持证人", Role.APPLICANT, usccs=[answers["uscc"]])
    application = approved(
        session,
        users.actor_of(user),
        "CONVENIENCE_STORE",
        conditions=conditions_for("CONVENIENCE_STORE", permits),
        uscc=answers["uscc"],
    )
    return licenses.issue_license(session, SYSTEM_ACTOR, application.id), {"Authorization": f"Bearer {token}"}


def test_the_settings_make_the_identifier_and_its_serial_is_the_license_number(
    holder: tuple[License, dict[str, str]],
) -> None:
    license_, _ = holder
    assert get_settings().license_issuer_uscc == ISSUER
    identifier = licenses.identifier_of(license_)
    assert identifier == f"1.2.156.3005.2.{TYPE_CODE}.{ISSUER}.{license_.number}.001.{identifier[-1]}"
    assert is_valid_identifier(identifier)


def test_the_identifier_is_printed_shown_answered_and_found(
    client: TestClient, session: Session, holder: tuple[License, dict[str, str]]
) -> None:
    license_, as_holder = holder
    identifier = licenses.identifier_of(license_)

    text = "".join(pypdf.PdfReader(licenses.ensure_pdf(session, license_)).pages[0].extract_text().split())
    assert f"证照标识：{identifier}" in text

    page = client.get(f"/v/{license_.token}").text
    assert f'<td id="identifier" style="overflow-wrap:anywhere">{html.escape(identifier)}</td>' in page
    assert client.get(f"/v/{license_.token}", headers=JSON).json()["identifier"] == identifier

    answer = client.get(f"/api/applications/{license_.application_id}", headers=as_holder)
    assert answer.status_code == 200, answer.text
    assert answer.json()["license"]["identifier"] == identifier

    found = client.get("/publicity", params={"q": identifier}, headers=JSON).json()
    assert [row["number"] for row in found["items"]] == [license_.number]
    assert found == client.get("/publicity", params={"q": f" {identifier.lower()} "}, headers=JSON).json()
    download = client.get("/publicity.csv", params={"q": identifier})
    assert license_.number in download.content.decode("utf-8-sig")
    wrong = identifier[:-1] + ("0" if identifier[-1] != "0" else "1")
    assert client.get("/publicity", params={"q": wrong}, headers=JSON).json()["total"] == 0
    assert client.get("/publicity", params={"q": wrong}).status_code == 200


def test_a_new_edition_has_the_next_version_and_the_old_identifier_still_finds_the_license(
    client: TestClient, session: Session, holder: tuple[License, dict[str, str]]
) -> None:
    license_, _ = holder
    first = licenses.identifier_of(license_)
    licenses.change_permit(
        session, reviewer("SCJG"), f"{license_.number}-01", Operation.RENEW, reason="延续申请已准予",
        valid_until=date(2040, 3, 13),
    )  # fmt: skip
    session.refresh(license_)
    second = licenses.identifier_of(license_)
    assert license_.edition == 2 and parse_identifier(second).version == 2
    assert second.rsplit(".", 2)[0] == first.rsplit(".", 2)[0]  # the same license: only version and check differ
    assert client.get(f"/v/{license_.token}", headers=JSON).json()["identifier"] == second
    text = "".join(pypdf.PdfReader(licenses.ensure_pdf(session, license_)).pages[0].extract_text().split())
    assert second in text
    assert licenses.license_number_for(first) == license_.number
