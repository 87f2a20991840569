"""Public pages: QR verification (/v/<token>), the publicity list (/publicity), the published keys.

No login: everything shown here is public. The legal representative is masked, nothing personal is shown, and
every page answers in Chinese HTML or, with ``Accept: application/json``, in JSON.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import secrets
import threading
from collections import OrderedDict
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel
from sqlmodel import Session

from onelicense import clock
from onelicense.clock import CHINA_TIME, china_date
from onelicense.errors import NotFound, OneLicenseError
from onelicense.licenses.document import mask_name
from onelicense.licenses.errors import (
    KEYS_UNAVAILABLE,
    InvalidIdentifier,
    KeyRevoked,
    KeyStoreError,
    MalformedToken,
    SignatureInvalid,
    TokenError,
    UnknownKey,
)
from onelicense.licenses.keys import KeySet, cached_public_keyset
from onelicense.licenses.qr import verify_url
from onelicense.licenses.status import LicenseStatus
from onelicense.licenses.token import VerifiedToken, verify_token
from onelicense.services import catalog as catalogs
from onelicense.services import licenses
from onelicense.services.licenses import LicenseConfig, identifier_of
from onelicense.services.queries.publicity import publicity_csv
from onelicense.store import license_queries
from onelicense.store.db import read_scope, session_scope
from onelicense.store.license_queries import LicenseNow
from onelicense.store.tables.types import utcnow
from onelicense.templating import environment
from onelicense.web.downloads import csv_download
from onelicense.web.errors import error_body
from onelicense.web.public_schemas import NotGenuine, PublishedKeys, Unregistered, VerifiedLicense

router = APIRouter(tags=["公开核验"])
log = logging.getLogger("onelicense.web")

# shown when the verification keys cannot be read: nothing about the cause (paths, permissions) leaks to the public
UNAVAILABLE = KEYS_UNAVAILABLE
_UNAVAILABLE_PAGE = """{% extends "public_base.html.j2" %}
{% block title %}核验服务暂时不可用{% endblock %}
{% block content %}
<div class="card" style="text-align:center">
  <div class="status" style="font-size:1.6rem; margin:.2em 0">核验服务暂时不可用</div>
  <p>{{ message }}。此时无法判断许可证真伪，并不表示该许可证无效。</p>
</div>
{% endblock %}
"""

NO_STORE = {"Cache-Control": "no-store"}
KEYS_MAX_AGE = 60  # seconds a cache may serve the published keys: a revocation is seen within a minute
_REASONS: dict[type[TokenError], str] = {
    MalformedToken: "malformed",
    UnknownKey: "unknown_key",
    SignatureInvalid: "signature_invalid",
    KeyRevoked: "key_revoked",
}


def wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


# the public pages a person opens in a browser: a refused request there is answered as a page, not JSON
PUBLIC_PAGES = ("/publicity", "/publicity.csv", "/credit", "/credit.csv")


def refusal_html(title: str, message: str, path: str) -> str:
    """A refused request to `path` as a page: its reason, and a link back to the page the request came from."""
    env = environment(catalogs.templates_dir())
    return env.get_template("request_refused.html.j2").render(title=title, message=message, back=way_back(path))


# where a person returns after a refused form post (browsers send us no Referer: see web.middleware)
_WAY_BACK = (
    (re.compile(r"(/portal/(?:drafts|applications)/[0-9a-f]{32})/materials/([a-z0-9_]{1,64})"), r"\1#material-\2"),
    (re.compile(r"/portal/obligations/([0-9a-f]{32})/fulfil"), r"/portal/obligations#o-\1"),
    (re.compile(r"/(portal|desk|board|publicity|credit)\b.*"), r"/\1"),
)


def way_back(path: str) -> str:
    """The page a request to `path` was made from, as far as the path tells; the home page otherwise."""
    for pattern, target in _WAY_BACK:
        if (found := pattern.fullmatch(path)) is not None:
            return found.expand(target)
    return "/"


def public_error_page(request: Request, exc: OneLicenseError) -> Response | None:
    """A public page's refusal (a hand-made bad query) as a page unless the client asked for JSON; None elsewhere."""
    if request.url.path not in PUBLIC_PAGES or wants_json(request):
        return None
    html = refusal_html(exc.kind.title, exc.public_message, request.url.path)
    return HTMLResponse(html, status_code=exc.http_status, headers=NO_STORE)


def _render(template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    env = environment(catalogs.templates_dir())
    return HTMLResponse(env.get_template(template).render(**context), status_code=status_code, headers=NO_STORE)


def _status(status: LicenseStatus) -> dict[str, str]:
    return {"code": status.value, "label": status.label}


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def _clock(at: datetime) -> str:
    """A moment as people read it on the page: China time, to the second (the page says 北京时间)."""
    return at.astimezone(CHINA_TIME).strftime("%Y-%m-%d %H:%M:%S")


def _instant(at: datetime) -> str:
    """A moment in JSON: ISO 8601 in China time with its offset (2026-12-04T20:53:25+08:00), unambiguous anywhere."""
    return at.astimezone(CHINA_TIME).isoformat(timespec="seconds")


def public_view(now: LicenseNow, key_id: str, pending: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The public fields of a license and its live status; the JSON answer and the page's context. `pending`: the
    numbers of the permits granted on a commitment whose 事后核查 is not done yet (先予许可、待核查)."""
    license_ = now.license
    permits = [
        {
            "code": p.permit.permit_code,
            "name": p.permit.permit_name,
            "number": p.permit.number,
            "department": p.permit.department_name,
            "issued_on": _day(p.permit.issued_on),
            "valid_until": _day(p.permit.valid_until),
            "mandatory": p.permit.mandatory,
            "status": _status(p.status),  # the effective status: the more restrictive of the permit's and the license's
            "by_license": p.effective.by_license,
            "status_note": p.effective.note,  # e.g. 随许可证注销, when the status comes from the whole license
            "pending_inspection": p.permit.number in pending,  # 先予许可、待核查
        }
        for p in now.permits
    ]
    return {
        "genuine": True,
        "registered": True,
        "number": license_.number,
        "identifier": identifier_of(license_),
        "holder_name": license_.holder_name,
        "uscc": license_.uscc,
        "legal_representative": mask_name(license_.legal_representative),
        "business_address": license_.business_address,
        "industry_code": license_.industry_code,
        "industry_name": license_.industry_name,
        "authority_name": license_.authority_name,
        "issued_on": _day(china_date(license_.issued_at)),
        "status": _status(now.composite.status),
        "license_status": _status(license_.status),
        "blocking": [p for p in permits if p["code"] in now.composite.blocking],
        "permits": permits,
        "checked_at": _instant(now.checked_at),
        "key_id": key_id,
        "edition": license_.edition,
        "edition_on": _day(china_date(license_.edition_at)) if license_.edition_at else None,
        "current": True,
        # the PDF in circulation was signed with a revoked document key: it fails every validator, the license
        # itself is as its status says; its holder fetches the re-signed PDF (license resign)
        "document_key_revoked": (revoked := licenses.document_key_revoked(license_)),
        "document_notice": licenses.DOCUMENT_KEY_REVOKED_NOTICE if revoked else None,
    }


def _typed(model: type[BaseModel], description: str) -> dict[str, Any]:
    """OpenAPI: an answer that is an HTML page, or `model` as JSON when asked (Accept: application/json). JSON is
    listed first: a generated client reads the first media type it knows, and it asks for JSON."""
    content = {"application/json": {}, "text/html": {"schema": {"type": "string"}}}
    return {"model": model, "description": description, "content": content}


# OpenAPI: a public page, and any refusal of a public URL, answers HTML, or JSON when asked (Accept: application/json)
PAGE_OR_JSON: dict[str, Any] = {"text/html": {"schema": {"type": "string"}}, "application/json": {"schema": {"type": "object"}}}
REFUSED_QUERY: dict[int | str, dict[str, Any]] = {422: {"description": "查询参数有误（浏览器得到说明页面）", "content": PAGE_OR_JSON}}


def _answers(*statuses: int, **descriptions: str) -> dict[int | str, dict[str, Any]]:
    return {status: {"description": descriptions.get(f"s{status}", ""), "content": PAGE_OR_JSON} for status in statuses}


@router.get(
    "/v/{token}",
    summary="扫码核验许可证",
    responses={
        200: _typed(VerifiedLicense, "真实有效的许可证及其实时状态"),
        400: _typed(NotGenuine, "核验码不真实：格式错误、未知密钥、签名不符或签名密钥已停用"),
        404: _typed(Unregistered, "签名真实，但该许可证未在本机构登记"),
        **_answers(503, s503="核验服务暂时不可用"),
    },
)
def verify_page(token: str, request: Request) -> Response:
    """Signature first (offline-checkable), then the live status from the register."""
    keyset = _public_keys()
    if keyset is None:  # no usable keys: garbage is still garbage, anything else cannot be judged now
        try:
            verify_token(token, KeySet({}))
        except MalformedToken as exc:
            return _not_genuine(request, exc)
        except TokenError:
            pass
        return _unavailable(request)
    try:
        verified = verify_token(token, keyset)
    except TokenError as exc:
        return _not_genuine(request, exc)
    # the session is opened here rather than by a yield-dependency: FastAPI would run its setup and teardown in
    # extra thread-pool hops, which cost more than the lookup itself on this hot path; no transaction
    as_json = wants_json(request)
    with read_scope() as session:
        stamp = license_queries.public_stamp(session, verified.content.number)  # first: see _Answers
        if stamp is None:
            return _unregistered(request, verified)
        key, version = (token, as_json), (*stamp, clock.today())
        body = _ANSWERS.get(key, version)
        if body is None:
            try:
                body = _answer(session, token, verified, as_json)
            except NotFound:  # gone since the stamp was read
                return _unregistered(request, verified)
            _ANSWERS.put(key, version, body)
    checked = utcnow()
    moment = _instant(checked) if as_json else _clock(checked)
    media = "application/json" if as_json else "text/html; charset=utf-8"
    return Response(body.replace(_CHECKED_AT, moment.encode()), media_type=media, headers=NO_STORE)


def _answer(session: Session, token: str, verified: VerifiedToken, as_json: bool) -> bytes:
    """The page or JSON of a genuine token, its check time left as `_CHECKED_AT` (filled in per request)."""
    now = license_queries.current_status(session, verified.content.number)
    history = license_queries.public_history(session, now)
    pending = license_queries.pending_inspections(session, now.license.id)
    view = public_view(now, verified.kid, pending)
    view["history"] = [{"date": h.day.isoformat(), "event": h.label, "permit": h.permit_name} for h in history]
    if token != now.license.token:  # a genuine older edition: the license was changed or renewed since
        view["current"] = False
        view["current_url"] = verify_url(LicenseConfig.from_settings().public_base_url, now.license.token)
    if as_json:
        view["checked_at"] = _CHECKED_AT.decode()
        return json.dumps(view, ensure_ascii=False, separators=(",", ":")).encode()
    env = environment(catalogs.templates_dir())
    return env.get_template("verify.html.j2").render(v=view, checked_at=_CHECKED_AT.decode()).encode()


# stands for the check time in a kept answer: unique to this process, so no license text can contain it
_CHECKED_AT = f"@@checked-at-{secrets.token_hex(8)}@@".encode()


class _Answers:
    """The last /v/ answers per (token, JSON or page), kept while the license's public stamp and the day are the
    same: a repeated scan then costs the signature and one indexed query instead of four queries and a render.
    Still live: the stamp is read before the answer is built (a change committed in between makes the kept answer
    older than its stamp says, never newer), and the next request after any state change finds another stamp.
    Bounded (least recently used out); one per process: each worker keeps its own."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.kept: OrderedDict[tuple[str, bool], tuple[tuple[Any, ...], bytes]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple[str, bool], version: tuple[Any, ...]) -> bytes | None:
        with self.lock:
            found = self.kept.get(key)
            if found is None or found[0] != version:
                return None
            self.kept.move_to_end(key)
            return found[1]

    def put(self, key: tuple[str, bool], version: tuple[Any, ...], body: bytes) -> None:
        with self.lock:
            self.kept[key] = (version, body)
            self.kept.move_to_end(key)
            while len(self.kept) > self.size:
                self.kept.popitem(last=False)


_ANSWERS = _Answers(size=512)  # ~15 KB a page: a few MB per process


def _public_keys() -> KeySet | None:
    """The published public keys only (never a private key, never creating one), or None when the key store is
    missing or unreadable: the cause goes to the log, the public gets a 503 that names nothing."""
    try:
        return cached_public_keyset(LicenseConfig.from_settings().keys_dir)
    except KeyStoreError as exc:
        log.error("verification keys unavailable: %s", exc)
        return None


def _unavailable(request: Request | None) -> Response:
    headers = {**NO_STORE, "Retry-After": "60"}
    if request is None or wants_json(request):
        return JSONResponse(error_body(UNAVAILABLE), status_code=503, headers=headers)
    env = environment(catalogs.templates_dir())
    html = env.from_string(_UNAVAILABLE_PAGE).render(message=UNAVAILABLE)
    return HTMLResponse(html, status_code=503, headers=headers)


def _not_genuine(request: Request, exc: TokenError) -> Response:
    reason = next((code for kind, code in _REASONS.items() if isinstance(exc, kind)), "invalid")
    if wants_json(request):
        body = {"genuine": False, "reason": reason, "message": str(exc)}
        return JSONResponse(body, status_code=400, headers=NO_STORE)
    return _render("verify_invalid.html.j2", status_code=400, message=str(exc))


def _unregistered(request: Request, verified: VerifiedToken) -> Response:
    content = verified.content
    checked = utcnow()
    issued_on = _day(china_date(content.issued_at))
    if wants_json(request):
        body = {
            "genuine": True,
            "registered": False,
            "number": content.number,
            "holder_name": content.holder_name,
            "uscc": content.uscc,
            "issued_on": issued_on,
            "checked_at": _instant(checked),
            "message": "签名真实，但登记系统中无此许可证",
        }
        return JSONResponse(body, status_code=404, headers=NO_STORE)
    return _render(
        "verify_unregistered.html.j2",
        status_code=404,
        content=content,
        issued_on=issued_on,
        checked_at=_clock(checked),
    )


_JSON_OBJECT = {"application/json": {"schema": {"type": "object"}}}


@router.get(
    "/.well-known/onelicense-keys.json",
    summary="公布的验签公钥（JWKS）",
    responses={
        200: {
            "model": PublishedKeys,
            "description": "公钥集：keys 为可验签的公钥（标准 JWKS），revoked_keys 为已停用的公钥及停用时间",
        },
        304: {"description": "公钥集未变（If-None-Match 与 ETag 相同）"},
        503: {"description": "核验服务暂时不可用", "content": _JSON_OBJECT},
    },
)
def published_keys(request: Request) -> Response:
    """Cacheable for a minute only, so a revocation reaches verifiers soon; a verifier that polls sends the ETag
    back (If-None-Match) and gets 304 while the set is unchanged."""
    keyset = _public_keys()
    if keyset is None:
        return _unavailable(None)
    body = json.dumps(keyset.to_jwks(), ensure_ascii=False, separators=(",", ":")).encode()
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"Cache-Control": f"public, max-age={KEYS_MAX_AGE}", "ETag": etag}
    if _etag_matches(request.headers.get("if-none-match", ""), etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


def _etag_matches(if_none_match: str, etag: str) -> bool:
    """RFC 9110 13.1.2: `*`, or any listed entity tag equal under weak comparison."""
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag in tags


def _publicity_key(q: str) -> str | None:
    """What the publicity list searches for: a 证照标识 of ours stands for its license number; a wrong one finds
    nothing rather than matching a name."""
    try:
        return licenses.license_number_for(q) or None
    except InvalidIdentifier:
        return q


@router.get(
    "/publicity",
    response_class=HTMLResponse,
    summary="证照公示",
    responses={**_answers(200, 422, s200="已发许可证的公示列表", s422="查询参数有误")},
)
def publicity(
    request: Request,
    q: Annotated[str, Query(max_length=100)] = "",
    industry: Annotated[str, Query(max_length=64)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    with session_scope() as session:
        result = license_queries.search_publicity(session, q=_publicity_key(q), industry=industry or None, page=page)
    rows = [
        {
            "number": item.license.number,
            "holder_name": item.license.holder_name,
            "uscc": item.license.uscc,
            "industry_code": item.license.industry_code,
            "industry_name": item.license.industry_name,
            "issued_on": _day(china_date(item.license.issued_at)),
            "authority_name": item.license.authority_name,
            "status": _status(item.composite.status),
            "permits": [
                {
                    "name": p.permit.permit_name,
                    "number": p.permit.number,
                    "department": p.permit.department_name,
                    "valid_until": _day(p.permit.valid_until),
                    "status": _status(p.status),
                    "status_note": p.effective.note,
                }
                for p in item.permits
            ],
        }
        for item in result.items
    ]
    if wants_json(request):
        body = {"total": result.total, "page": result.page, "pages": result.pages, "items": rows}
        return JSONResponse(body, headers=NO_STORE)
    industries = [(code, spec.name) for code, spec in catalogs.catalog().industries.items()]

    def link(target: int) -> str:
        return "/publicity?" + urlencode({"q": q, "industry": industry, "page": target})

    csv_link = "/publicity.csv?" + urlencode({"q": q, "industry": industry})
    return _render(
        "publicity.html.j2",
        page=result,
        rows=rows,
        q=q,
        industry=industry,
        industries=industries,
        link=link,
        csv_link=csv_link,
    )


@router.get(
    "/publicity.csv",
    summary="证照公示（CSV 下载）",
    response_class=Response,
    responses={
        200: {
            "description": "每个分项许可一行，状态与扫码核验页一致",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        },
        **REFUSED_QUERY,
    },
)
def publicity_download(
    q: Annotated[str, Query(max_length=100)] = "",
    industry: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    with read_scope() as session:
        body = publicity_csv(session, q=_publicity_key(q), industry=industry or None)
    day = china_date(utcnow()).isoformat()
    return csv_download(body, f"证照公示-{day}.csv", f"publicity-{day}.csv")
