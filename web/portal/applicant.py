"""Applicant pages (/portal): my applications and drafts, a new application (industry → scope questions → the one
merged form → materials → commitment notice → pre-review → submit), its progress, supplements, the license.

Routes are glue: drafts, uploads, applications and licenses change only through their services."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from onelicense.clock import utcnow
from onelicense.errors import Conflict, InvalidRequest
from onelicense.forms.errors import SubmissionRefused, ValidationFailed
from onelicense.forms.fieldtypes import parse_value
from onelicense.forms.validation import MATERIAL_PREFIX
from onelicense.licenses.qr import qr_png, verify_url
from onelicense.review.roles import Role, require_role
from onelicense.review.stages import application_steps
from onelicense.review.transitions import Outcome, ReviewStatus
from onelicense.services import applications, changes, drafts, licenses, pending_changes, ratings, uploads
from onelicense.services import catalog as catalogs
from onelicense.settings import get_settings
from onelicense.store.tables import DepartmentReview
from onelicense.store.tables.license import License, LicensePermit
from onelicense.store.tables.portal import Draft, Rating
from onelicense.web import downloads
from onelicense.web.portal.common import (
    DbSession,
    Id,
    SignedInViewer,
    Viewer,
    check_csrf,
    form_version,
    redirect,
    render,
)

router = APIRouter(include_in_schema=False)
APPLICANTS = frozenset({Role.APPLICANT})
Code = Annotated[str, Path(pattern=r"^[a-z0-9_]{1,64}$")]
Csrf = [Depends(check_csrf)]


def _applicant(who: Viewer) -> None:
    assert who.actor is not None
    require_role(who.actor, APPLICANTS, "使用申请人门户")


@router.get("/portal")
def home(request: Request, who: SignedInViewer, session: DbSession) -> Response:
    _applicant(who)
    assert who.actor is not None
    mine = applications.list_applications(session, who.actor, limit=100)
    return render(
        request,
        who,
        "applicant/home.html.j2",
        applications=mine,
        drafts=drafts.list_drafts(session, who.actor),
        deleted=request.query_params.get("deleted") == "1",
    )


@router.get("/portal/new")
def choose_industry(request: Request, who: SignedInViewer) -> Response:
    _applicant(who)
    return render(request, who, "applicant/industries.html.j2", cards=drafts.industry_cards())


@router.post("/portal/new", dependencies=Csrf)
def start(
    request: Request, who: SignedInViewer, session: DbSession, industry_code: Annotated[str, Form(max_length=64)]
) -> Response:
    _applicant(who)
    assert who.actor is not None
    draft = drafts.new_draft(session, who.actor, industry_code)
    return redirect(f"/portal/drafts/{draft.id}")


# ------------------------------------------------------------------------------------------------ the form


@router.get("/portal/drafts/{draft_id}")
def draft_page(request: Request, who: SignedInViewer, session: DbSession, draft_id: Id, checked: int = 0) -> Response:
    _applicant(who)
    assert who.actor is not None
    if (application_id := drafts.submitted_as(session, who.actor, draft_id)) is not None:
        return redirect(f"/portal/applications/{application_id}", request)  # submitted: its progress
    draft = drafts.get_draft(session, who.actor, draft_id)
    return _form_page(request, who, session, draft, check=drafts.check(draft) if checked else None)


@router.get("/portal/drafts/{draft_id}/scope")
def scope_preview(request: Request, who: SignedInViewer, session: DbSession, draft_id: Id) -> Response:
    """htmx: the permits and departments for the scope answers being typed (nothing stored)."""
    _applicant(who)
    assert who.actor is not None
    draft = drafts.get_draft(session, who.actor, draft_id)
    typed = {k: v for k, v in request.query_params.items()}
    answers = drafts.scope_answers(draft.industry_code, typed)
    form = catalogs.merged_form(draft.industry_code, answers)
    return render(request, who, "applicant/_permits.html.j2", form=form)


@router.post("/portal/drafts/{draft_id}", dependencies=Csrf)
async def save(request: Request, who: SignedInViewer, session: DbSession, draft_id: Id) -> Response:
    """One form, several buttons: 保存草稿 (save), 更新许可事项 (scope), 检查 (check), 提交 (submit), and 删除 (delete),
    which saves what was typed and asks for a confirmation first (nothing is lost if the applicant goes back)."""
    _applicant(who)
    assert who.actor is not None
    body = await request.form()
    action = str(body.get("action") or "save")
    typed = {k: v for k, v in body.items() if isinstance(v, str) and k not in ("csrf_token", "action", "signer")}
    draft = drafts.save_draft(session, who.actor, draft_id, typed)
    if action == "delete":
        return redirect(f"/portal/drafts/{draft_id}/delete", request)
    if action == "check":
        return _form_page(request, who, session, draft, check=drafts.check(draft))
    if action == "submit":
        signer, signed = str(body.get("signer") or ""), body.get("commitment") == "signed"
        try:
            submitted = drafts.submit_draft(session, who.actor, draft_id, signer=signer, signed=signed)
        except (ValidationFailed, SubmissionRefused, Conflict) as exc:
            session.rollback()
            draft = drafts.get_draft(session, who.actor, draft_id)
            return _form_page(
                request,
                who,
                session,
                draft,
                check=drafts.check(draft),
                problem=_for_person(exc),
                status_code=exc.http_status,
                signer=signer,
            )
        return redirect(f"/portal/applications/{submitted.application.id}?submitted=1", request)
    return redirect(f"/portal/drafts/{draft_id}?saved=1", request)


@router.get("/portal/drafts/{draft_id}/delete")
def delete_page(request: Request, who: SignedInViewer, session: DbSession, draft_id: Id) -> Response:
    """删除草稿 asks first: a page of its own, so the confirmation works without scripts."""
    _applicant(who)
    assert who.actor is not None
    draft = drafts.get_draft(session, who.actor, draft_id)
    return render(request, who, "applicant/delete.html.j2", draft=draft)


@router.post("/portal/drafts/{draft_id}/delete", dependencies=Csrf)
def delete(
    request: Request, who: SignedInViewer, session: DbSession, draft_id: Id, confirm: Annotated[str, Form()] = ""
) -> Response:
    _applicant(who)
    assert who.actor is not None
    if confirm != "yes":
        return redirect(f"/portal/drafts/{draft_id}/delete", request)
    drafts.delete_draft(session, who.actor, draft_id)
    return redirect("/portal?deleted=1", request)


@router.post("/portal/validate/{industry_code}/{key}")
async def validate_field(request: Request, who: SignedInViewer, industry_code: str, key: Code) -> Response:
    """htmx: the inline check of one field as it is left (the same Chinese reason as a submission)."""
    _applicant(who)
    body = await request.form()
    raw = body.get(key)
    problem = drafts.field_problem(industry_code, key, raw if isinstance(raw, str) else "")
    return render(request, who, "applicant/_field_error.html.j2", key=key, problem=problem)


@router.post("/portal/drafts/{draft_id}/materials/{code}", dependencies=Csrf)
async def upload_material(
    request: Request,
    who: SignedInViewer,
    session: DbSession,
    draft_id: Id,
    code: Code,
    file: Annotated[UploadFile, File()],
) -> Response:
    _applicant(who)
    assert who.actor is not None
    draft = drafts.get_draft(session, who.actor, draft_id)
    material = next((m for m in drafts.form_of(draft).materials if m.code == code), None)
    if material is None:
        raise InvalidRequest(f"材料 {code} 不在本次申请的材料清单中")
    data = await file.read(get_settings().upload_max_bytes + 1)
    problem = None
    try:
        upload = uploads.store_upload(session, who.actor, data, file.filename or "", what=material.name)
        draft = drafts.attach_material(session, who.actor, draft_id, code, upload)
    except InvalidRequest as exc:
        problem = exc.message
    if request.headers.get("hx-request"):
        names = _upload_names(session, who, draft.materials)
        return render(
            request,
            who,
            "applicant/_material.html.j2",
            draft=draft,
            m=material,
            names=names,
            problem=problem,
            status_code=422 if problem else 200,
        )
    if problem:  # without scripts: the whole page again, the reason in the material's block (the form's #anchor)
        return _form_page(request, who, session, draft, material_problems={code: problem}, status_code=422)
    return redirect(f"/portal/drafts/{draft_id}#material-{code}")


def _upload_names(session: DbSession, who: Viewer, materials: dict[str, object]) -> dict[str, str]:
    assert who.actor is not None
    ids = {code: i for code, v in materials.items() if (i := uploads.upload_id_of(v))}
    owned = uploads.owned_uploads(session, who.actor, list(ids.values()))
    return {code: owned[i].original_name for code, i in ids.items() if i in owned}


def _form_page(
    request: Request,
    who: Viewer,
    session: DbSession,
    draft: Draft,
    *,
    check: drafts.Check | None = None,
    problem: str | None = None,
    material_problems: dict[str, str] | None = None,
    status_code: int = 200,
    signer: str = "",
) -> HTMLResponse:
    form = drafts.form_of(draft)
    errors = {e.key: e.reason for e in check.errors} if check else {}
    sections: dict[str, list[Any]] = {}
    condition_keys = set(catalogs.catalog().industries[draft.industry_code].condition_keys)
    for merged in form.fields:
        if merged.key not in condition_keys:
            sections.setdefault(merged.section_name, []).append(merged)
    return render(
        request,
        who,
        "applicant/form.html.j2",
        status_code=status_code,
        draft=draft,
        form=form,
        scope=[f for f in form.fields if f.key in condition_keys],
        sections=sections,
        values=draft.answers,
        errors=errors,
        check=check,
        problem=problem,
        material_problems=material_problems or {},
        anchor=lambda key: _anchor(key, {f.key for f in form.fields}),
        names=_upload_names(session, who, dict(draft.materials)),
        signer=signer,
        saved=request.query_params.get("saved") == "1",
    )


# ------------------------------------------------------------------------------------------------ after submission


@router.get("/portal/applications/{application_id}")
def progress(request: Request, who: SignedInViewer, session: DbSession, application_id: Id) -> Response:
    _applicant(who)
    assert who.actor is not None
    found = applications.list_progress(session, who.actor, application_id)
    application = found.application
    now = utcnow()
    rows = [(r, catalogs.review_sla(r, now), _settled(r)) for r in found.reviews]
    license_ = found.license
    link = verify_url(get_settings().public_base_url, license_.token) if license_ else None
    return render(
        request,
        who,
        "applicant/progress.html.j2",
        application=application,
        steps=application_steps(application.status),
        rows=rows,
        license=license_,
        verify_link=link,
        opinion=application.composite_opinion,
        requested=_requested(found),
        ratings=_ratings(session, who, application_id),
        reviews=found.reviews,
        submitted=request.query_params.get("submitted") == "1",
        rated=request.query_params.get("rated") == "1",
        amended=request.query_params.get("amended") == "1",
        changed=request.query_params.get("changed") == "1",
        cancelled=request.query_params.get("cancelled") == "1",
        pending_change=pending_changes.pending_change(session, license_.id) if license_ else None,
        may_change=changes.may_change(license_),
        may_rate=ratings.may_rate(application),
        rating_scores=ratings.SCORES,
        expiring=_expiring(session, license_),
        item_label=catalogs.item_label,
        outcome_label=lambda value: Outcome(value).label if value in {o.value for o in Outcome} else "",
    )


def _settled(review: DepartmentReview) -> str | None:
    """What the 时限 column says of a review whose clock is not running, or None while the department must decide.
    A department waiting for the applicant's 补正 has not finished: its clock starts afresh on the amendment."""
    if review.status is ReviewStatus.SUPPLEMENT_REQUESTED:
        return "等待申请人补正（补正期间不计时）"
    if review.status.is_open:
        return None
    return "已办结" if review.decided_at else review.status.label


def _expiring(session: Session, license_: License | None) -> list[LicensePermit]:
    """The license's valid permits whose validity ends within the renewal window (offered for 延续)."""
    return [] if license_ is None else changes.renewable_permits(session, license_)


@router.get("/portal/applications/{application_id}/qr.png")
def qr(who: SignedInViewer, session: DbSession, application_id: Id) -> Response:
    _applicant(who)
    assert who.actor is not None
    license_ = licenses.license_of_application(session, who.actor, application_id)
    if license_ is None:
        raise Conflict("尚未发证")
    png = qr_png(verify_url(get_settings().public_base_url, license_.token), box_size=6)
    return Response(png, media_type="image/png", headers={"Cache-Control": "private, no-store"})


@router.get("/portal/applications/{application_id}/license.pdf")
def license_pdf(who: SignedInViewer, session: DbSession, application_id: Id) -> Response:
    _applicant(who)
    assert who.actor is not None
    return downloads.license_pdf(session, who.actor, application_id)


@router.get("/portal/applications/{application_id}/amend")
def amend_page(request: Request, who: SignedInViewer, session: DbSession, application_id: Id) -> Response:
    _applicant(who)
    assert who.actor is not None
    found = applications.list_progress(session, who.actor, application_id)
    return _amend_page(request, who, found)


@router.post("/portal/applications/{application_id}/materials/amend", dependencies=Csrf)
async def amend(request: Request, who: SignedInViewer, session: DbSession, application_id: Id) -> Response:
    """补正: only the requested fields and materials (one multipart form: typed values and files together)."""
    _applicant(who)
    assert who.actor is not None
    found = applications.list_progress(session, who.actor, application_id)
    body = await request.form()
    fields, materials = _requested(found)
    form = catalogs.merged_form(found.application.industry_code, dict(found.application.answers))
    by_key = {f.key: f for f in form.fields}
    answers: dict[str, object] = {}
    patch_materials: dict[str, object] = {}
    problems = []
    for key in fields:
        raw = body.get(key)
        if isinstance(raw, str) and raw != "" and key in by_key:
            problem = drafts.field_problem(found.application.industry_code, key, raw)
            if problem is None:
                answers[key] = parse_value(by_key[key].spec, raw)
            else:
                problems.append(problem.for_person)
    for code in materials:
        file = body.get(f"material_{code}")
        if file is not None and not isinstance(file, str) and file.filename:
            data = await file.read(get_settings().upload_max_bytes + 1)
            try:
                upload = uploads.store_upload(session, who.actor, data, file.filename, what=catalogs.item_label(code))
            except InvalidRequest as exc:
                problems.append(exc.message)
                continue
            patch_materials[code] = uploads.reference(upload)
    if problems:
        return _amend_page(request, who, found, problem="；".join(problems), status_code=422)
    try:
        expected = form_version(body.get("expected_version")) or found.application.version
        applications.amend(session, who.actor, application_id, answers, patch_materials, expected_version=expected)
    except (ValidationFailed, Conflict, InvalidRequest) as exc:
        session.rollback()
        found = applications.list_progress(session, who.actor, application_id)
        return _amend_page(request, who, found, problem=_for_person(exc), status_code=exc.http_status)
    return redirect(f"/portal/applications/{application_id}?amended=1")


def _amend_page(
    request: Request,
    who: Viewer,
    found: applications.ApplicationProgress,
    *,
    problem: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    fields, materials = _requested(found)
    form = catalogs.merged_form(found.application.industry_code, dict(found.application.answers))
    by_key = {f.key: f for f in form.fields}
    return render(
        request,
        who,
        "applicant/amend.html.j2",
        status_code=status_code,
        application=found.application,
        fields=[by_key[k] for k in fields if k in by_key],
        materials=materials,
        problem=problem,
        values=found.application.answers,
        item_label=catalogs.item_label,
        asked=[r for r in found.reviews if r.requested_items],
    )


def _for_person(exc: InvalidRequest | Conflict) -> str:
    """An error's message on a page: field labels, not keys (the API's answer keeps the keys)."""
    return exc.for_person if isinstance(exc, ValidationFailed) else exc.message


def _anchor(key: str, form_keys: set[str]) -> str:
    """Where a pre-review problem is fixed on the form page: the field, the material, or the commitment notice."""
    if key in form_keys:
        return f"field-{key}"
    if key.startswith(MATERIAL_PREFIX):
        return f"material-{key.removeprefix(MATERIAL_PREFIX)}"
    return "h-commit"


def _requested(found: applications.ApplicationProgress) -> tuple[list[str], list[str]]:
    """(field keys, material codes) the departments asked to supplement, in request order."""
    materials_known = catalogs.catalog().materials
    fields: list[str] = []
    materials: list[str] = []
    for review in found.reviews:
        for item in review.requested_items:
            target = materials if item in materials_known else fields
            if item not in target:
                target.append(item)
    return fields, materials


def _ratings(session: DbSession, who: Viewer, application_id: str) -> list[Rating]:
    assert who.actor is not None
    return list(ratings.ratings_of_application(session, who.actor, application_id))
