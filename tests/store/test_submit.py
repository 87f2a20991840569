"""Submitting: one application, one pending review and one push message per department the catalog names,
audited; a retried submit with the same idempotency key returns the first application; bad input stores nothing."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from onelicense.errors import Conflict, Forbidden, InvalidRequest
from onelicense.forms.errors import SubmissionRefused, ValidationFailed
from onelicense.review.roles import Actor
from onelicense.review.transitions import ApplicationStatus, ReviewStatus
from onelicense.services import applications
from onelicense.settings import get_settings
from onelicense.store import audit, outbox
from onelicense.store.db import get_session
from onelicense.store.tables import Application, OutboxMessage
from tests.builders import ADMIN, APPLICANT, OTHER_APPLICANT, SMALL, SYSTEM, reviewer, submit_valid, valid_application
from tests.store.conftest import (
    DEPARTMENTS,
    FIRE,
    HEALTH,
    HOTEL,
    SubmitFn,
    hotel_conditions,
    reviews_of,
    row_counts,
)

CATALOG = Path(__file__).resolve().parents[2] / "forms" / "catalog"


def test_submit_creates_application_reviews_push_messages_and_audit(session: Session) -> None:
    submitted = submit_valid(session, APPLICANT, HOTEL, conditions=hotel_conditions())
    application = submitted.application
    assert application.status is ApplicationStatus.SUBMITTED and not submitted.replayed
    assert application.version == 1 and application.submitted_by == APPLICANT.user_id
    assert application.reference.startswith("SQ") and len(application.id) == 32
    assert application.industry_code == HOTEL
    assert sorted(application.permit_codes) == sorted(code for codes in DEPARTMENTS.values() for code in codes)
    assert (application.holder_name, application.uscc) == (
        application.answers["holder_name"],
        application.answers["uscc"],
    )
    reviews = reviews_of(session, application.id)
    assert set(reviews) == set(DEPARTMENTS)
    assert [r.id for r in submitted.reviews] == [reviews[d].id for d in sorted(DEPARTMENTS)]
    assert all(r.status is ReviewStatus.PENDING and r.round == 1 and r.version == 1 for r in reviews.values())
    assert {d: r.permit_codes for d, r in reviews.items()} == DEPARTMENTS
    assert reviews[HEALTH].permit_codes == ["PUBLIC_HEALTH", "SECONDARY_WATER_SUPPLY_HEALTH"]
    pushes = outbox.messages_for(session, application.id, outbox.DEPARTMENT_PUSH)
    assert sorted(m.department_code for m in pushes) == sorted(DEPARTMENTS)
    assert {m.payload["review_id"] for m in pushes} == {r.id for r in reviews.values()}
    (event,) = audit.events_for(session, "application", application.id)
    assert (event.action, event.actor, event.before) == ("application.submit", APPLICANT.label, None)
    assert event.after["status"] == "submitted" and event.after["departments"] == DEPARTMENTS
    assert all(audit.events_for(session, "department_review", r.id) for r in reviews.values())


def test_unicode_is_kept_exactly(session: Session, submit: SubmitFn) -> None:
    rare = "𠀀𪚥𫠝 龘 😀 \u3000全角　空格 é"  # visible text, kept as typed (invisible characters are refused)
    _, materials = valid_application(HOTEL, conditions=hotel_conditions())
    materials["business_license"] = f"材料库/{rare}.pdf"
    application = submit(holder_name=f"酒店{rare}", principal_name=rare, materials=materials)
    session.expunge_all()
    stored = session.get(Application, application.id)
    assert stored is not None
    assert stored.holder_name == f"酒店{rare}" and stored.answers["holder_name"] == f"酒店{rare}"
    assert stored.answers["principal_name"] == rare
    assert stored.materials["business_license"] == f"材料库/{rare}.pdf"


def test_timestamps_are_aware_utc(session: Session, submit: SubmitFn) -> None:
    application = submit()
    session.expunge_all()
    stored = session.get(Application, application.id)
    assert stored is not None and stored.created_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    assert stored.created_at == application.created_at


def test_same_idempotency_key_returns_the_first_application(session: Session) -> None:
    answers, materials = valid_application()
    body = {"industry_code": SMALL, "answers": answers, "materials": materials, "idempotency_key": "client-key-1"}
    first = applications.submit(session, APPLICANT, **body).application
    before = row_counts(session)
    again = applications.submit(session, APPLICANT, **body)  # the client retries the same request
    assert again.replayed and again.application.id == first.id
    assert again.application.holder_name == first.holder_name
    assert sorted(r.id for r in again.reviews) == sorted(r.id for r in reviews_of(session, first.id).values())
    assert row_counts(session) == before


def test_idempotency_key_of_another_submitter_is_a_conflict(session: Session, submit: SubmitFn) -> None:
    submit(idempotency_key="shared")
    before = row_counts(session)
    with pytest.raises(Conflict):
        submit(OTHER_APPLICANT, idempotency_key="shared")
    assert row_counts(session) == before


def test_concurrent_submits_with_one_key_create_one_application(db_url: str, session: Session) -> None:
    answers, materials = valid_application(SMALL)  # two departments: two push messages
    barrier = threading.Barrier(4)
    ids: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        with get_session(db_url) as own:
            try:
                barrier.wait(timeout=10)
                submitted = applications.submit(
                    own,
                    APPLICANT,
                    industry_code=SMALL,
                    answers=answers,
                    materials=materials,
                    idempotency_key="retry-storm",
                )
                ids.append(submitted.application.id)
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(set(ids)) == 1 and len(ids) == 4
    assert len(session.exec(select(Application)).all()) == 1
    assert len(session.exec(select(OutboxMessage)).all()) == 2


@pytest.mark.parametrize(
    ("overrides", "error", "message"),
    [
        pytest.param({"holder_name": "  "}, InvalidRequest, "经营者名称.*不能为空", id="blank-holder"),
        pytest.param({"holder_name": "酒店\x00"}, InvalidRequest, "控制字符", id="nul-character"),
        pytest.param({"holder_name": "bad \ud800 surrogate"}, InvalidRequest, "U\\+D800", id="lone-surrogate"),
        pytest.param(
            {"principal_name": "张\udfff"}, InvalidRequest, "场所负责人.*U\\+DFFF", id="lone-surrogate-in-answers"
        ),
        pytest.param({"floor_area": float("nan")}, InvalidRequest, "有限的数字", id="answers-not-json"),
        pytest.param({"when": "2026-01-01"}, InvalidRequest, "未知字段", id="field-not-on-the-form"),
        pytest.param({"answers": ["not", "a", "dict"]}, InvalidRequest, "键值对象", id="answers-not-an-object"),
        pytest.param({"exit_count": None}, InvalidRequest, "安全出口数量.*必填项未填写", id="required-missing"),
        pytest.param(
            {"materials": {"business_license": None}},
            InvalidRequest,
            "营业执照.*核心材料未提交",
            id="core-material-missing",
        ),
        pytest.param(
            {"materials": {"business_license": "x\ud800.pdf"}},
            InvalidRequest,
            "申请材料包含无效的字符",
            id="material-not-storable",
        ),
        pytest.param({"commitment_accepted": False}, InvalidRequest, "告知承诺书", id="commitment-not-signed"),
        pytest.param({"room_count": 0}, SubmissionRefused, "旅馆应至少设有1间客房", id="refused-by-pre-review"),
        pytest.param(
            {"public_venue_category": "美容店"},
            ValidationFailed,
            "公共场所类别（public_venue_category）：“美容店”不适用于本行业",
            id="category-not-fitting-the-industry",
        ),
        pytest.param({"industry_code": "NO_SUCH_INDUSTRY"}, ValidationFailed, "未知行业", id="unknown-industry"),
    ],
)
def test_bad_input_is_refused_and_stores_nothing(
    session: Session, overrides: dict[str, Any], error: type[Exception], message: str
) -> None:
    """`overrides` replace answers; `materials` entries replace the sample's (None removes one)."""
    overrides = dict(overrides)
    answers, materials = valid_application(HOTEL, conditions=hotel_conditions())
    for code, ref in overrides.pop("materials", {}).items():
        if ref is None:
            del materials[code]
        else:
            materials[code] = ref
    call: dict[str, Any] = {"industry_code": HOTEL, "materials": materials}
    call.update({key: overrides.pop(key) for key in ("industry_code", "commitment_accepted") if key in overrides})
    call["answers"] = overrides.pop("answers") if "answers" in overrides else {**answers, **overrides}
    before = row_counts(session)
    with pytest.raises(error, match=message):
        applications.submit(session, APPLICANT, **call)
    assert row_counts(session) == before


@pytest.fixture
def catalog_with_an_empty_choice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A deployment's own catalog with an industry whose only permit depends on a question: answered no, the
    application asks for no permit at all."""
    folder = tmp_path / "catalog"
    shutil.copytree(CATALOG, folder)
    with (folder / "industries.yaml").open("a", encoding="utf-8") as industries:
        industries.write(
            "\n  - code: KIOSK\n    name: 报刊亭\n    permits:\n"
            '      - permit: OUTDOOR_SIGN\n        when: "has_outdoor_sign"\n'
        )
    monkeypatch.setenv("ONELICENSE_CATALOG_DIR", str(folder))
    get_settings.cache_clear()
    yield "KIOSK"
    get_settings.cache_clear()


def test_an_application_selecting_no_permit_is_refused_and_stores_nothing(
    session: Session, catalog_with_an_empty_choice: str
) -> None:
    industry = catalog_with_an_empty_choice
    with pytest.raises(InvalidRequest):
        applications.submit(
            session,
            APPLICANT,
            industry_code=industry,
            answers={"has_outdoor_sign": False, "holder_name": "报刊亭"},
        )
    with pytest.raises(InvalidRequest):
        applications.submit(session, APPLICANT, industry_code=industry, answers={"has_outdoor_sign": False})
    assert set(row_counts(session).values()) == {0}
    # the same industry with its permit selected is an ordinary application
    submitted = submit_valid(session, APPLICANT, industry, conditions={"has_outdoor_sign": True})
    assert [r.department_code for r in submitted.reviews] == ["CGJ"]


@pytest.mark.parametrize("actor", [reviewer(FIRE), SYSTEM, ADMIN], ids=["reviewer", "system", "admin"])
def test_only_applicants_submit(session: Session, submit: SubmitFn, actor: Actor) -> None:
    with pytest.raises(Forbidden):
        submit(actor)
    assert set(row_counts(session).values()) == {0}
