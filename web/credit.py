"""信用公示, public: holders in the 公示 before listing and the 失信名单, as a page, as JSON (Accept:
application/json) and as a CSV in the documented exchange format. Read-only glue around
services.queries.credit_publicity."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from onelicense.services import catalog as catalogs
from onelicense.services.queries.credit_publicity import EXCHANGE_COLUMNS, CreditEntry, credit_csv, credit_lists
from onelicense.store.db import read_scope
from onelicense.templating import environment
from onelicense.web.downloads import csv_download
from onelicense.web.public import NO_STORE, PAGE_OR_JSON, REFUSED_QUERY, wants_json

router = APIRouter(tags=["信用公示"])

_USCC = Query(max_length=18, pattern=r"^[0-9A-Za-z]*$", description="只看该统一社会信用代码")


def _entry(entry: CreditEntry) -> dict[str, Any]:
    row = asdict(entry)
    row["kind_label"] = entry.kind_label
    row["start"], row["end"] = entry.start.isoformat(), entry.end.isoformat()
    return row


@router.get(
    "/credit",
    response_class=HTMLResponse,
    summary="信用公示（拟列入失信名单公示、失信名单）",
    responses={200: {"description": "两份名单", "content": PAGE_OR_JSON}, **REFUSED_QUERY},
)
def credit_page(request: Request, uscc: Annotated[str, _USCC] = "") -> Response:
    with read_scope() as session:
        lists = credit_lists(session, uscc=uscc or None)
    if wants_json(request):
        body = {
            "today": lists.today.isoformat(),
            "publicity": [_entry(e) for e in lists.publicity],
            "listed": [_entry(e) for e in lists.listed],
        }
        return JSONResponse(body, headers=NO_STORE)
    html = (
        environment(catalogs.templates_dir())
        .get_template("credit.html.j2")
        .render(lists=lists, uscc=uscc, csv_link="/credit.csv?" + urlencode({"uscc": uscc}), columns=EXCHANGE_COLUMNS)
    )
    return HTMLResponse(html, headers=NO_STORE)


@router.get(
    "/credit.csv",
    summary="信用公示（CSV 交换格式）",
    response_class=Response,
    responses={
        200: {
            "description": "每条公示或失信记录一行，列见 docs/lifecycle.md",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
        **REFUSED_QUERY,
    },
)
def credit_download(uscc: Annotated[str, _USCC] = "") -> Response:
    with read_scope() as session:
        lists = credit_lists(session, uscc=uscc or None)
    day = lists.today.isoformat()
    return csv_download(credit_csv(lists), f"信用公示-{day}.csv", f"credit-{day}.csv")
