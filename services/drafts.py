"""Drafts (草稿) of the portal's one merged form, per applicant account: what was typed is kept as typed (even
when not yet valid), checked on demand (the same field rules and pre-review as a submission) and submitted through
services.applications.submit, the one door for a new application.

    new_draft → save_draft (answers as typed, scope answers decide the permits) → attach_material (an upload) →
    check (field errors in Chinese, pre-review findings) → submit_draft (signed commitment notice) → Submitted"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from onelicense.clock import utcnow
from onelicense.errors import Conflict, Forbidden, InvalidRequest, NotFound
from onelicense.forms.errors import FieldError, UnknownIndustry, ValidationFailed
from onelicense.forms.fieldtypes import Invalid, parse_value
from onelicense.forms.merge import MergedForm
from onelicense.forms.model import FieldType
from onelicense.forms.prereview import Finding, prereview
from onelicense.forms.stats import IndustryFigures, industry_figures
from onelicense.forms.validation import parse_answer, validate_submission
from onelicense.review.roles import Actor, Role
from onelicense.services import applications, uploads
from onelicense.services import catalog as catalogs
from onelicense.store import audit
from onelicense.store.db import transaction
from onelicense.store.tables.portal import Draft, Upload

MAX_VALUE_CHARS = 10_000


@dataclass(frozen=True)
class Check:
    """A draft as it would be judged if submitted now: field problems and pre-review findings."""

    form: MergedForm
    answers: dict[str, Any]  # parsed: only the values that are valid
    errors: list[FieldError]
    findings: list[Finding]

    @property
    def blocking(self) -> list[Finding]:
        return [f for f in self.findings if f.severity.value == "blocking"]


@functools.cache
def industry_cards() -> list[IndustryFigures]:
    """The catalog's industries with their figures (departments, days): computed once per process."""
    catalog = catalogs.catalog()
    return [industry_figures(industry, catalog) for industry in catalog.industries.values()]


def new_draft(session: Session, actor: Actor, industry_code: str) -> Draft:
    _require_applicant(actor)
    if not isinstance(industry_code, str) or industry_code not in catalogs.catalog().industries:
        raise UnknownIndustry(str(industry_code)[:64])
    draft = Draft(user_id=actor.user_id, industry_code=industry_code)
    with transaction(session):
        session.add(draft)
        session.flush()
        audit.record(session, actor, "draft.create", "draft", draft.id, None, {"industry_code": industry_code})
    return draft


def get_draft(session: Session, actor: Actor, draft_id: str) -> Draft:
    """The applicant's own draft; another's answers 403 exactly like a missing one (ids are not confirmed)."""
    _require_applicant(actor)
    draft = session.get(Draft, draft_id) if isinstance(draft_id, str) else None
    if draft is None or draft.user_id != actor.user_id:
        raise Forbidden("无权查看该草稿，或草稿不存在")
    return draft


def submitted_as(session: Session, actor: Actor, draft_id: str) -> str | None:
    """The id of the application a submitted (hence deleted) draft of the actor became, if any: reopening the
    draft's address leads there rather than to a refusal."""
    _require_applicant(actor)
    if session.get(Draft, draft_id) is not None:
        return None
    try:
        found = applications.find_by_idempotency_key(session, actor, f"draft:{draft_id}")
    except Conflict:  # someone else's: say nothing
        return None
    return found.id if found is not None else None


def list_drafts(session: Session, actor: Actor) -> list[Draft]:
    _require_applicant(actor)
    statement = select(Draft).where(Draft.user_id == actor.user_id).order_by(col(Draft.updated_at).desc())
    return list(session.exec(statement))


def save_draft(session: Session, actor: Actor, draft_id: str, typed: Mapping[str, str]) -> Draft:
    """Keep what was typed for the fields of this industry (unknown keys are dropped, values capped)."""
    draft = get_draft(session, actor, draft_id)
    known = set(catalogs.catalog().fields)
    answers = dict(draft.answers)
    for key, value in typed.items():
        if key in known and isinstance(value, str):
            answers[key] = value[:MAX_VALUE_CHARS]
    with transaction(session):
        draft.answers = answers
        draft.updated_at = utcnow()
        session.add(draft)
    return draft


def attach_material(session: Session, actor: Actor, draft_id: str, material_code: str, upload: Upload) -> Draft:
    draft = get_draft(session, actor, draft_id)
    if material_code not in {m.code for m in form_of(draft).materials}:
        raise InvalidRequest(f"材料 {material_code[:64]} 不在本次申请的材料清单中")
    if upload.owner_id != actor.user_id:
        raise Forbidden("无权使用该文件")
    with transaction(session):
        draft.materials = {**draft.materials, material_code: uploads.reference(upload)}
        draft.updated_at = utcnow()
        session.add(draft)
    return draft


def delete_draft(session: Session, actor: Actor, draft_id: str) -> None:
    draft = get_draft(session, actor, draft_id)
    with transaction(session):
        session.delete(draft)
        audit.record(session, actor, "draft.delete", "draft", draft_id)


def scope_answers(industry_code: str, typed: Mapping[str, Any]) -> dict[str, Any]:
    """The answers to the industry's scope questions (经营范围问答) among `typed`, parsed; unanswered or invalid
    ones count as "no" (boolean) or are left out, as the merged form reads them."""
    catalog = catalogs.catalog()
    industry = catalog.industries.get(industry_code)
    if industry is None:
        raise UnknownIndustry(industry_code)
    answers: dict[str, Any] = {}
    for key in industry.condition_keys:
        spec = catalog.fields[key]
        raw = typed.get(key)
        try:
            if raw not in (None, ""):
                answers[key] = parse_answer(industry, spec, raw)
            elif spec.type is FieldType.BOOLEAN:
                answers[key] = False
        except Invalid:
            if spec.type is FieldType.BOOLEAN:
                answers[key] = False
    return answers


def form_of(draft: Draft) -> MergedForm:
    return catalogs.merged_form(draft.industry_code, scope_answers(draft.industry_code, draft.answers))


def field_problem(industry_code: str, key: str, raw: str) -> FieldError | None:
    """The inline check of one field as it is left: the same Chinese reason a submission would get."""
    spec = catalogs.catalog().fields.get(key)
    industry = catalogs.catalog().industries.get(industry_code)
    if spec is None or industry is None:
        return FieldError(key[:64], key[:64], "未知字段：本行业的合并表单中没有此项")
    if raw in (None, ""):
        return FieldError(key, spec.label, "必填项未填写") if spec.required else None
    try:
        parse_answer(industry, spec, raw)
    except Invalid as exc:
        return FieldError(key, spec.label, str(exc))
    return None


def check(draft: Draft) -> Check:
    """Every field problem at once (as submission would name them), then the pre-review of the valid answers."""
    form = form_of(draft)
    parsed, errors = _parse(form, draft.answers)
    return Check(form, parsed, _with_remaining(form, parsed, draft.materials, errors), prereview(form, parsed))


def submit_draft(session: Session, actor: Actor, draft_id: str, *, signer: str, signed: bool) -> applications.Submitted:
    """Submit the draft with its signed commitment notice (告知承诺书, stored verbatim with the signer and time).
    The draft id is the idempotency key: a double click or a retried request submits once."""
    draft = get_draft(session, actor, draft_id)
    form = form_of(draft)
    parsed, errors = _parse(form, draft.answers)
    signer = str(signer or "").strip()
    if signed and not 1 <= len(signer) <= 100:
        errors.append(FieldError("signer", "签署人姓名", "请输入签署人姓名"))
    if not signed:
        errors.append(FieldError("commitment", "告知承诺书", "须阅读并勾选同意告知承诺书"))
    uploads.check_owned(session, actor, dict(draft.materials))
    if errors:
        raise ValidationFailed(_with_remaining(form, parsed, draft.materials, errors))
    signature = {"signer": signer, "text": form.commitment_notice, "signed_at": utcnow().isoformat()}
    submitted = applications.submit(
        session,
        actor,
        industry_code=draft.industry_code,
        answers=parsed,
        materials=dict(draft.materials),
        commitment_accepted=True,
        idempotency_key=f"draft:{draft.id}",
        commitment_signature=signature,
    )
    with transaction(session):
        if (stale := session.get(Draft, draft.id)) is not None:
            session.delete(stale)
    return submitted


def _with_remaining(
    form: MergedForm, parsed: dict[str, Any], materials: Mapping[str, Any], errors: list[FieldError]
) -> list[FieldError]:
    """`errors` plus the problems the API's own validation names (missing fields, materials) on other keys."""
    try:
        validate_submission(form, parsed, materials, commitment_accepted=True)
    except ValidationFailed as exc:
        seen = {e.key for e in errors}
        return errors + [e for e in exc.errors if e.key not in seen]
    return errors


def _parse(form: MergedForm, typed: Mapping[str, Any]) -> tuple[dict[str, Any], list[FieldError]]:
    parsed: dict[str, Any] = {}
    errors: list[FieldError] = []
    for merged in form.fields:
        raw = typed.get(merged.key)
        if raw in (None, ""):
            continue
        try:
            parsed[merged.key] = parse_value(merged.spec, raw)
        except Invalid as exc:
            errors.append(FieldError(merged.key, merged.label, str(exc)))
    return parsed, errors


def _require_applicant(actor: Actor) -> None:
    if actor.role is not Role.APPLICANT:
        raise Forbidden("只有申请人可以填写申请")


__all__ = ["Check", "NotFound"]
