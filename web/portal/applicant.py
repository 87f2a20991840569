"""Applicant pages (/portal): my applications and drafts, a new application (industry → scope → the one merged
form → materials → commitment → pre-review → submit), its progress, supplements, the license."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from review.roles import Role
from services import applications
from store.access import require_role
from web.portal.common import DbSession, SignedInViewer, render

router = APIRouter(prefix="/portal", include_in_schema=False)
APPLICANTS = frozenset({Role.APPLICANT})


@router.get("")
def home(request: Request, who: SignedInViewer, session: DbSession) -> Response:
    assert who.actor is not None
    require_role(who.actor, APPLICANTS, "使用申请人门户")
    mine = applications.list_applications(session, who.actor, limit=100)
    return render(request, who, "applicant/home.html.j2", applications=mine, drafts=[])
