"""好差评 pages: the applicant rates a decided application (the form is the partial ratings_panel.html.j2 on its
progress page), and a department answers its 差评 with the 整改 taken (/desk/ratings)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from onelicense.errors import Conflict, InvalidRequest
from onelicense.services import ratings
from onelicense.web.portal.common import DbSession, SignedInViewer, check_csrf, redirect, render

router = APIRouter(include_in_schema=False)
Csrf = Depends(check_csrf)


@router.post("/portal/applications/{application_id}/rate", dependencies=[Csrf])
def rate(
    request: Request,
    who: SignedInViewer,
    session: DbSession,
    application_id: str,
    department_code: Annotated[str, Form(max_length=50)] = "",
    score: Annotated[str, Form(max_length=10)] = "",
    comment: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    assert who.actor is not None
    back = f"/portal/applications/{application_id}"
    try:
        ratings.rate(session, who.actor, application_id, department_code, score, comment)
    except (InvalidRequest, Conflict) as exc:  # refusals of the applicant's own application: say why, link back
        return render(
            request, who, "ratings_refused.html.j2", status_code=exc.http_status, message=exc.message, back=back
        )
    return redirect(f"{back}?rated=1", request)


@router.get("/desk/ratings")
def followups(request: Request, who: SignedInViewer, session: DbSession, replied: int = 0) -> Response:
    assert who.actor is not None
    items = ratings.followups(session, who.actor)
    return render(
        request,
        who,
        "desk/ratings.html.j2",
        items=items,
        replied=bool(replied),
        scores=ratings.SCORES,
        reply_max=ratings.REPLY_MAX,
    )


@router.post("/desk/ratings/{rating_id}/reply", dependencies=[Csrf])
def reply(
    request: Request,
    who: SignedInViewer,
    session: DbSession,
    rating_id: str,
    text: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    assert who.actor is not None
    try:
        ratings.reply(session, who.actor, rating_id, text)
    except (InvalidRequest, Conflict) as exc:
        return render(
            request,
            who,
            "ratings_refused.html.j2",
            status_code=exc.http_status,
            message=exc.message,
            back="/desk/ratings",
        )
    return redirect("/desk/ratings?replied=1", request)
