"""The business registry (市场主体登记), behind one adapter: who a 统一社会信用代码 is — its registered name, legal
representative, the representative's mobile on record, and whether it still exists (存续).

A deployment points ONELICENSE_REGISTRY_URL at the registry's lookup (GET <url>/<USCC> answering JSON with the
fields of `Company`; 404 for an unknown code). The embedded default is a local stand-in table (registry_entries),
filled by `onelicense registry import` (the demo companies on a fresh machine), like the departments' stand-ins."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from sqlmodel import Session, col, select

from onelicense.clock import utcnow
from onelicense.errors import InvalidRequest, Unavailable
from onelicense.forms.identifiers import mobile_problem, uscc_problem
from onelicense.review.roles import Actor, Role, require_role
from onelicense.settings import get_settings
from onelicense.store import audit
from onelicense.store.db import transaction
from onelicense.store.tables.identity import RegistryEntry

ACTIVE = frozenset({"存续", "在业", "开业"})


class RegistryUnavailable(Unavailable):
    """The registry did not answer: nothing that needs it can be decided now."""


@dataclass(frozen=True)
class Company:
    uscc: str
    name: str
    legal_representative: str
    legal_rep_phone: str | None
    status: str

    @property
    def active(self) -> bool:
        return self.status in ACTIVE


def lookup(session: Session, uscc: str) -> Company | None:
    """The company the registry records under `uscc`, or None."""
    uscc = str(uscc or "").strip().upper()
    if uscc_problem(uscc):
        return None
    url = get_settings().registry_url
    if url:
        return _remote(url, uscc)
    row = session.get(RegistryEntry, uscc)
    if row is None:
        return None
    return Company(row.uscc, row.name, row.legal_representative, row.legal_rep_phone, row.status)


def _remote(url: str, uscc: str) -> Company | None:
    try:
        response = httpx.get(f"{url.rstrip('/')}/{uscc}", timeout=get_settings().registry_timeout_seconds)
    except httpx.HTTPError as exc:
        raise RegistryUnavailable(f"市场主体登记系统暂不可用（{type(exc).__name__}），请稍后再试") from exc
    if response.status_code == 404:
        return None
    if response.status_code != 200:
        raise RegistryUnavailable(f"市场主体登记系统暂不可用（HTTP {response.status_code}），请稍后再试")
    try:
        data = response.json()
        return _company(data, uscc)
    except (ValueError, KeyError, TypeError) as exc:
        raise RegistryUnavailable("市场主体登记系统的答复无法识别") from exc


def _company(data: Mapping[str, Any], uscc: str) -> Company:
    phone = data.get("legal_rep_phone")
    return Company(
        uscc=uscc,
        name=str(data["name"]).strip(),
        legal_representative=str(data["legal_representative"]).strip(),
        legal_rep_phone=str(phone).strip() if phone else None,
        status=str(data.get("status") or "存续").strip(),
    )


def import_entries(session: Session, actor: Actor, entries: Iterable[Mapping[str, Any]]) -> int:
    """Load companies into the local stand-in (admins): each checked, all or nothing, audited. Returns the count."""
    require_role(actor, {Role.ADMIN}, "维护本地市场主体登记")
    rows = []
    for n, entry in enumerate(entries, start=1):
        uscc = str(entry.get("uscc") or "").strip().upper()
        if problem := uscc_problem(uscc):
            raise InvalidRequest(f"第 {n} 条：统一社会信用代码 {uscc or '（空）'} 无效：{problem}")
        try:
            company = _company(entry, uscc)
        except KeyError as exc:
            raise InvalidRequest(f"第 {n} 条（{uscc}）：缺少 {exc.args[0]}") from None
        if not company.name or not company.legal_representative:
            raise InvalidRequest(f"第 {n} 条（{uscc}）：企业名称和法定代表人不能为空")
        if company.legal_rep_phone and (problem := mobile_problem(company.legal_rep_phone)):
            raise InvalidRequest(f"第 {n} 条（{uscc}）：法定代表人手机号码 {problem}")
        rows.append(company)
    with transaction(session):
        for company in rows:
            row = session.get(RegistryEntry, company.uscc) or RegistryEntry(
                uscc=company.uscc, name="", legal_representative=""
            )
            row.name, row.legal_representative = company.name, company.legal_representative
            row.legal_rep_phone, row.status, row.updated_at = company.legal_rep_phone, company.status, utcnow()
            session.add(row)
        audit.record(session, actor, "registry.import", "registry", "local", None, {"count": len(rows)})
    return len(rows)


def local_count(session: Session) -> int:
    return len(session.exec(select(col(RegistryEntry.uscc))).all())
