"""Service centre supervisor pages (/board): the red/yellow/green board per department and per case, averages,
counts, CSV export, charts."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from review.roles import Role
from store.access import require_role
from web.portal.common import SignedInViewer, render

router = APIRouter(prefix="/board", include_in_schema=False)
SUPERVISORS = frozenset({Role.SUPERVISOR, Role.ADMIN})


@router.get("")
def board(request: Request, who: SignedInViewer) -> Response:
    assert who.actor is not None
    require_role(who.actor, SUPERVISORS, "查看督办看板")
    return render(request, who, "board/board.html.j2")
