"""Department reviewer pages (/desk): the department's queue, a review's detail, claim / release / decide, and
the licenses of its permits."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from review.roles import Role
from store.access import require_role
from web.portal.common import SignedInViewer, render

router = APIRouter(prefix="/desk", include_in_schema=False)
REVIEWERS = frozenset({Role.REVIEWER})


@router.get("")
def queue(request: Request, who: SignedInViewer) -> Response:
    assert who.actor is not None
    require_role(who.actor, REVIEWERS, "使用部门审查工作台")
    return render(request, who, "desk/queue.html.j2")
