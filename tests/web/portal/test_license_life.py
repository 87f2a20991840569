"""The holder's license in the portal: a change of a registration fact is applied at once (new edition) once the
business registry records it, a change
of premises becomes a change application the departments review, and cancellation needs a confirmation; another
account may do none of it."""

from __future__ import annotations

from sqlmodel import select

from onelicense.services.adapters import registry
from onelicense.store.db import session_scope
from onelicense.store.tables.application import Application
from onelicense.store.tables.license import License
from tests.builders import ADMIN
from tests.web.portal.conftest import Browser
from tests.web.portal.test_commitments import issue_to


def the_license() -> License:
    with session_scope() as session:
        row = session.exec(select(License)).one()
        session.expunge(row)
        return row


def test_the_holder_changes_and_cancels_its_license_in_the_portal(new_browser, staff, app) -> None:
    holder: Browser = new_browser()
    holder.register("13700000011")
    issue_to("13700000011")
    license_ = the_license()
    progress = f"/portal/applications/{license_.application_id}"
    page = holder.get(progress)
    assert f"/portal/licenses/{license_.number}/change" in page.text and "注销许可证" in page.text

    stranger: Browser = new_browser()
    stranger.register("13700000012")
    stranger.get("/portal")
    refused = stranger.post(f"/portal/licenses/{license_.number}/change", {"holder_name": "冒名"})
    assert refused.status_code == 403 and "持证人" in refused.text  # the license is public: the refusal says why
    assert the_license().edition == 1

    typed = holder.post(f"/portal/licenses/{license_.number}/change", {"holder_name": "重庆新名称便利店"})
    assert typed.status_code == 422 and "须与市场主体登记一致" in typed.text  # never from typed text
    assert the_license().edition == 1
    with session_scope() as session:  # the holder registers its new name with 市场监管 first
        original = session.get(Application, license_.application_id)
        assert original is not None
        registry.import_entries(session, ADMIN, [{"uscc": license_.uscc, "name": "重庆新名称便利店",
                                                  "legal_representative": original.answers["legal_representative"]}])  # fmt: skip
    renamed = holder.post(f"/portal/licenses/{license_.number}/change", {"holder_name": "重庆新名称便利店"})
    assert renamed.status_code == 303 and renamed.headers["location"].endswith("changed=1")
    assert the_license().holder_name == "重庆新名称便利店" and the_license().edition == 2

    moved = holder.post(f"/portal/licenses/{license_.number}/change", {"business_address": "重庆市江北区观音桥1号"})
    assert moved.status_code == 303
    with session_scope() as session:
        change = session.exec(select(Application).where(Application.kind == "change")).one()
    assert moved.headers["location"].startswith(f"/portal/applications/{change.id}")
    assert the_license().business_address != "重庆市江北区观音桥1号"  # not before the departments approve
    assert change.reference in holder.get(progress).text  # the pending change is named, no second form

    unconfirmed = holder.post(f"/portal/licenses/{license_.number}/cancel", {"reason": "不再经营"})
    assert unconfirmed.status_code == 422 and "确认注销" in unconfirmed.text
    cancelled = holder.post(f"/portal/licenses/{license_.number}/cancel", {"reason": "不再经营", "confirm": "yes"})
    assert cancelled.status_code == 303
    assert the_license().status.label == "注销"
    assert "注销" in holder.get(progress).text
