"""Random on-site checks (双随机、一公开) of licenses issued on commitments: a supervisor draws, per department, a
quota of the permits granted on a commitment (全信任 / 非核心要件信任 / 要件后补) that are still in force. The draw
is seeded, and the seed, the quotas, the population and the selection are recorded and audited, so anyone can
recompute it (`replay`) and see that nobody picked the businesses by hand."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from sqlmodel import Session, col, select

from licenses.status import LicenseStatus
from onelicense.errors import Forbidden, InvalidRequest, NotFound
from review.roles import Actor, Role
from review.sampling import draw, population_digest
from services import catalog as catalogs
from store import audit, inputs
from store.db import transaction
from store.tables.license import License, LicensePermit
from store.tables.lifecycle import InspectionDraw, Obligation

DRAWERS = frozenset({Role.SUPERVISOR, Role.ADMIN})


@dataclass(frozen=True)
class Drawn:
    permit_number: str
    permit_name: str
    holder_name: str
    license_number: str


def population(session: Session) -> dict[str, list[str]]:
    """Per department, the numbers of its permits in force that were granted on a commitment."""
    rows = session.exec(
        select(LicensePermit.department_code, LicensePermit.number)
        .join(Obligation, col(Obligation.permit_number) == col(LicensePermit.number))
        .join(License, col(License.id) == col(LicensePermit.license_id))
        .where(
            col(LicensePermit.status) == LicenseStatus.VALID,
            col(License.status) == LicenseStatus.VALID,
        )
        .distinct()
    ).all()
    found: dict[str, list[str]] = {}
    for department, number in rows:
        found.setdefault(department, []).append(number)
    return {dept: sorted(numbers) for dept, numbers in found.items()}


def draw_inspections(
    session: Session, actor: Actor, quotas: Mapping[str, int], *, seed: str | None = None
) -> InspectionDraw:
    """Draw and record. `quotas`: department code → how many (0–1000); `seed`: given (to announce it beforehand) or
    made here at random."""
    if actor.role not in DRAWERS:
        raise Forbidden("只有督办人员或管理员可以抽取双随机检查对象")
    departments = catalogs.catalog().departments
    clean: dict[str, int] = {}
    for code, count in dict(quotas).items():
        if code not in departments:
            raise InvalidRequest(f"未知部门：{code}（quotas）")
        if not isinstance(count, int) or not 0 <= count <= 1000:
            raise InvalidRequest(f"{departments[code].name}的抽查数量应为 0–1000 的整数（quotas）")
        if count:
            clean[code] = count
    if not clean:
        raise InvalidRequest("请至少为一个部门填写抽查数量（quotas）")
    seed = inputs.text(seed, "随机种子", required=False, max_length=64) or secrets.token_hex(8)
    members = {dept: numbers for dept, numbers in population(session).items() if dept in clean}
    record = InspectionDraw(
        seed=seed,
        drawn_by=actor.label,
        quotas=clean,
        population=members,
        population_digest=population_digest(members),
        selected=draw(members, clean, seed),
    )
    with transaction(session):
        session.add(record)
        session.flush()
        audit.record(session, actor, "inspection.draw", "inspection_draw", record.id, None,
                     {"seed": seed, "quotas": clean, "population_digest": record.population_digest,
                      "selected": record.selected})  # fmt: skip
    return record


def replay(record: InspectionDraw) -> dict[str, list[str]]:
    """The selection recomputed from what the draw recorded: equal to `record.selected` unless it was tampered with."""
    if population_digest(record.population) != record.population_digest:
        raise InvalidRequest("抽取记录的对象范围与其摘要不符")
    return draw(record.population, record.quotas, record.seed)


def list_draws(session: Session, actor: Actor, limit: int = 20) -> list[InspectionDraw]:
    """Supervisors and admins see every draw; a department's reviewers see the draws that include it."""
    rows = session.exec(select(InspectionDraw).order_by(col(InspectionDraw.drawn_at).desc()).limit(200)).all()
    if actor.role in DRAWERS:
        return list(rows[:limit])
    if actor.role is Role.REVIEWER and actor.department_code:
        return [r for r in rows if actor.department_code in r.quotas][:limit]
    raise Forbidden("无权查看双随机抽查记录")


def drawn(session: Session, record: InspectionDraw, department: str | None = None) -> dict[str, list[Drawn]]:
    """The selection with names, per department (or one department's part)."""
    result: dict[str, list[Drawn]] = {}
    for dept, numbers in record.selected.items():
        if department is not None and dept != department:
            continue
        rows = session.exec(
            select(LicensePermit, License)
            .join(License, col(License.id) == col(LicensePermit.license_id))
            .where(col(LicensePermit.number).in_(numbers))
            .order_by(col(LicensePermit.number))
        ).all()
        result[dept] = [Drawn(p.number, p.permit_name, lic.holder_name, lic.number) for p, lic in rows]
    return result


def get_draw(session: Session, actor: Actor, draw_id: str) -> InspectionDraw:
    record = session.get(InspectionDraw, draw_id)
    if record is None or record not in list_draws(session, actor, limit=200):
        raise NotFound("抽查记录不存在")
    return record
