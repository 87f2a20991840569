"""Free text people type — a reviewer's opinion, a department's inspection note, a change or cancellation reason,
a rating's comment and its reply — refuses bidirectional controls (U+202E RIGHT-TO-LEFT OVERRIDE and the other
embeddings, overrides, isolates and marks) and other invisible characters, with a message naming the field, and
stores nothing: shown, printed or audited, an opinion must read as it was typed (store.inputs.text, which every
service runs its text through). Line breaks and tabs stay allowed."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from onelicense.errors import InvalidRequest
from onelicense.licenses.status import LicenseStatus, Operation
from onelicense.review.obligations import ObligationKind, ObligationStatus
from onelicense.review.transitions import Decision, ReviewStatus
from onelicense.services import aggregation, applications, changes, licenses, obligations, ratings, reviews
from onelicense.services.licenses import LicenseConfig
from onelicense.settings import Settings
from onelicense.store.tables.application import DepartmentReview
from onelicense.store.tables.license import License, LicensePermit
from onelicense.store.tables.portal import Rating
from tests.builders import ADMIN, APPLICANT, SYSTEM, conditions_for, decide_all, reviewer, submit_valid

BIDI_CONTROLS = [
    *(chr(c) for c in range(0x202A, 0x202F)),  # LRE RLE PDF LRO RLO
    *(chr(c) for c in range(0x2066, 0x206A)),  # LRI RLI FSI PDI
    "\u200e",  # LEFT-TO-RIGHT MARK
    "\u200f",  # RIGHT-TO-LEFT MARK
    "\u061c",  # ARABIC LETTER MARK
]
OTHER_INVISIBLE = ["\u200b", "\u2060", "\x07"]  # zero-width space, word joiner, a control character
FOOD_OFFICE = "SCJG"  # 食品经营许可: trusted on commitment, checked after issuance (事后核查)


def reversed_text(control: str = "\u202e") -> str:
    return f"同意{control}意见无误"


def _issued(session: Session) -> License:
    conditions = conditions_for("CONVENIENCE_STORE", ["FOOD_BUSINESS", "OUTDOOR_SIGN"])
    application = submit_valid(session, APPLICANT, "CONVENIENCE_STORE", conditions=conditions).application
    decide_all(session, application.id)
    aggregation.aggregate(session, application.id)
    return licenses.issue_license(session, SYSTEM, application.id, config=LicenseConfig.from_settings())


def test_a_review_opinion_with_a_bidi_control_or_invisible_character_is_refused_naming_the_field(
    session: Session,
) -> None:
    submitted = submit_valid(session, APPLICANT)
    review = submitted.reviews[0]
    actor = reviewer(review.department_code)

    for control in BIDI_CONTROLS + OTHER_INVISIBLE:
        for decision in (Decision.APPROVE, Decision.REJECT):
            with pytest.raises(InvalidRequest, match=rf"^审查意见含有不可见的控制字符.*U\+{ord(control):04X}"):
                reviews.decide(session, actor, review.id, decision, reversed_text(control))

    session.expire_all()
    stored = session.get(DepartmentReview, review.id)
    assert stored is not None and stored.status is ReviewStatus.PENDING and stored.opinion is None
    assert reviews.decision_history(session, ADMIN, review.id) == []
    kept = reviews.decide(session, actor, review.id, Decision.APPROVE, "第一行\n第二行\t（行尾）")
    assert kept.opinion == "第一行\n第二行\t（行尾）"


def test_notes_reasons_comments_and_replies_refuse_bidi_controls_naming_the_field(
    session: Session, isolated_settings: Settings
) -> None:
    issued = _issued(session)
    inspection = next(o for o in obligations.list_obligations(session, ADMIN) if o.kind is ObligationKind.INSPECTION)
    application_id = issued.application_id
    assert application_id is not None
    food_permit = next(p for p in licenses.permits_of(session, issued.id) if p.permit_code == "FOOD_BUSINESS")

    refusals = {
        "核查发现的问题": lambda: obligations.record_inspection(
            session, reviewer(FOOD_OFFICE), inspection.id, passed=False, note=reversed_text("\u2067")
        ),
        "核查结果": lambda: obligations.record_inspection(
            session, reviewer(FOOD_OFFICE), inspection.id, passed=True, note=reversed_text("\u200f")
        ),
        "变更原因": lambda: changes.request_change(
            session, APPLICANT, issued.number, answers={"holder_name": "新名称便利店"}, reason=reversed_text()
        ),
        "暂扣原因": lambda: licenses.change_permit(
            session, reviewer(FOOD_OFFICE), food_permit.number, Operation.SUSPEND, reason=reversed_text("\u202b")
        ),
        "注销原因": lambda: licenses.change_license(
            session, APPLICANT, issued.number, Operation.CANCEL, reason=reversed_text("\u061c")
        ),
        "评价内容": lambda: ratings.rate(session, APPLICANT, application_id, FOOD_OFFICE, 1, reversed_text("\u2066")),
    }
    for label, attempt in refusals.items():
        with pytest.raises(InvalidRequest, match=f"^{label}含有不可见的控制字符"):
            attempt()

    session.expire_all()
    assert obligations.get_obligation(session, ADMIN, inspection.id).status is ObligationStatus.OPEN
    assert session.get(License, issued.id).status is LicenseStatus.VALID  # type: ignore[union-attr]
    assert session.get(LicensePermit, food_permit.id).status is LicenseStatus.VALID  # type: ignore[union-attr]
    assert session.exec(select(Rating)).all() == []
    assert changes.pending_change(session, issued.id) is None
    assert applications.get_application(session, ADMIN, application_id).holder_name != "新名称便利店"

    poor = ratings.rate(session, APPLICANT, application_id, FOOD_OFFICE, 1, "等待太久")
    with pytest.raises(InvalidRequest, match=r"^整改回复含有不可见的控制字符.*U\+202E"):
        ratings.reply(session, reviewer(FOOD_OFFICE), poor.id, reversed_text())
    session.expire_all()
    assert session.get(Rating, poor.id).reply is None  # type: ignore[union-attr]
