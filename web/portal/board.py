"""Service centre supervisor pages (/board): the red/yellow/green board per department and per case, averages,
counts, ratings, a chart, and the CSV exports."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlmodel import Session

from onelicense.errors import Conflict, InvalidRequest
from onelicense.review.roles import Role
from onelicense.review.sla import SlaLevel
from onelicense.services import calendar, inspections
from onelicense.services import catalog as catalogs
from onelicense.services.queries import supervision
from onelicense.web.downloads import csv_download
from onelicense.web.portal.common import (
    LEVEL_CLASS,
    DbSession,
    Id,
    SignedInViewer,
    Viewer,
    check_csrf,
    redirect,
    render,
)

router = APIRouter(include_in_schema=False)

# the chart's colours, darker than the dots so each reaches 3:1 against white (WCAG non-text contrast)
LEVEL_FILL = {
    SlaLevel.GREEN: "#137333",
    SlaLevel.YELLOW: "#b07800",
    SlaLevel.RED: "#b3121b",
    SlaLevel.PAST_STATUTORY: "#5c0a0e",
}
CHART_WIDTH, LABEL_WIDTH, ROW_HEIGHT, BAR_HEIGHT = 640, 150, 30, 20
Page = Annotated[int, Query(ge=1, le=100_000, description="页码")]


@dataclass(frozen=True)
class Segment:
    level: SlaLevel
    count: int
    x: float
    width: float
    fill: str


@dataclass(frozen=True)
class ChartRow:
    department_code: str
    total: int
    y: int
    segments: list[Segment]


def chart_rows(lights: list[supervision.DepartmentLights]) -> list[ChartRow]:
    """Open reviews per department as horizontal bars stacked by colour, scaled to the largest department."""
    largest = max((row.total for row in lights), default=0) or 1
    scale = (CHART_WIDTH - LABEL_WIDTH - 40) / largest
    rows = []
    for index, row in enumerate(lights):
        x, segments = float(LABEL_WIDTH), []
        for level in SlaLevel:  # green → past statutory, left to right
            count = row.count(level)
            if count:
                segments.append(Segment(level, count, round(x, 1), round(count * scale, 1), LEVEL_FILL[level]))
                x += count * scale
        rows.append(ChartRow(row.department_code, row.total, index * ROW_HEIGHT + 10, segments))
    return rows


@router.get("/board")
def board(request: Request, who: SignedInViewer, session: DbSession) -> Response:
    assert who.actor is not None
    data = supervision.board(session, who.actor)
    rows = chart_rows(data.lights)
    return render(
        request,
        who,
        "board/board.html.j2",
        board=data,
        calendar_warning=calendar.coverage_warning(calendar=calendar.working_calendar(session)),
        levels=list(SlaLevel),
        level_fill=LEVEL_FILL,
        chart=rows,
        chart_width=CHART_WIDTH,
        chart_height=len(rows) * ROW_HEIGHT + 20,
        bar_height=BAR_HEIGHT,
        label_width=LABEL_WIDTH,
    )


@router.get("/board/cases/{application_id}")
def case_page(request: Request, who: SignedInViewer, session: DbSession, application_id: Id) -> Response:
    assert who.actor is not None
    case = supervision.case_file(session, who.actor, application_id)
    return render(request, who, "board/case.html.j2", case=case, dot=LEVEL_CLASS)


@router.get("/board.csv")
def board_csv(who: SignedInViewer, session: DbSession) -> Response:
    assert who.actor is not None
    data = supervision.board(session, who.actor)
    return csv_download(supervision.departments_csv(data), f"督办看板-部门-{data.today.isoformat()}.csv", "board.csv")


@router.get("/board/cases.csv")
def cases_csv(who: SignedInViewer, session: DbSession) -> Response:
    assert who.actor is not None
    data = supervision.board(session, who.actor)
    return csv_download(supervision.cases_csv(data), f"督办看板-督办件-{data.today.isoformat()}.csv", "board-cases.csv")


# ---------------------------------------------------------------------------------------------- 双随机 draws


@router.get("/board/inspections")
def inspections_page(request: Request, who: SignedInViewer, session: DbSession, page: Page = 1) -> Response:
    return _inspections(request, who, session, page=page)


@router.post("/board/inspections", dependencies=[Depends(check_csrf)])
async def draw(request: Request, who: SignedInViewer, session: DbSession) -> Response:
    assert who.actor is not None
    form = await request.form()
    typed = {
        k: v for k, v in form.items() if isinstance(v, str) and (k.startswith("quota_") or k in ("seed", "reason"))
    }
    quotas: dict[str, int] = {}
    for code in catalogs.catalog().departments:
        raw = typed.get(f"quota_{code}", "").strip()
        if raw:
            if not raw.isdigit():
                error = f"抽查数量应为整数（quota_{code}）"
                return _inspections(request, who, session, status_code=422, error=error, typed=typed)
            quotas[code] = int(raw)
    try:
        record = inspections.draw_inspections(
            session, who.actor, quotas, seed=typed.get("seed") or None, reason=typed.get("reason") or None
        )
    except (InvalidRequest, Conflict) as exc:
        session.rollback()
        return _inspections(request, who, session, status_code=exc.http_status, error=exc.message, typed=typed)
    return redirect(f"/board/inspections#d-{record.id}", request)


@router.get("/desk/inspections")
def desk_inspections(request: Request, who: SignedInViewer, session: DbSession, page: Page = 1) -> Response:
    return _inspections(request, who, session, page=page)


def _inspections(
    request: Request,
    who: Viewer,
    session: Session,
    *,
    page: int = 1,
    status_code: int = 200,
    error: str | None = None,
    typed: dict[str, str] | None = None,
) -> Response:
    assert who.actor is not None
    listing = inspections.list_draws(session, who.actor, page=page)
    department = who.actor.department_code if who.actor.role is Role.REVIEWER else None
    path = request.url.path
    return render(
        request,
        who,
        "board/inspections.html.j2",
        status_code=status_code,
        listing=listing,
        draws=[
            (d, inspections.drawn(session, d, department), inspections.replay(d) == d.selected) for d in listing.draws
        ],
        departments=catalogs.catalog().departments,
        population={k: len(v) for k, v in inspections.population(session).items()},
        may_draw=who.actor.role in inspections.DRAWERS,
        drawer=lambda record: inspections.drawer_name(session, record),
        error=error,
        typed=typed or {},
        page_url=lambda n: f"{path}?{urlencode({'page': n})}",
    )
