"""Aggregation rules: every department's decision folded into the composite approval opinion (综合审批意见).

Pure: the inputs are plain dataclasses built by the caller from the store and the catalog, so the rules are
testable without a database. `render_composite_opinion` turns the result into an HTML document."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from onelicense.errors import Conflict
from onelicense.review.transitions import Decision, Outcome
from onelicense.templating import environment


class AggregationNotReady(Conflict):
    """Aggregation was asked for while some department has not decided yet, or the facts are inconsistent."""


@dataclass(frozen=True)
class PermitFact:
    """One permit the application asks for, and whether the composite license needs it (必备)."""

    code: str
    name: str
    department_code: str
    mandatory: bool = True


@dataclass(frozen=True)
class ApplicationFacts:
    """What aggregation needs to know about the application; names come from the catalog."""

    application_id: str
    reference: str
    industry_code: str
    industry_name: str
    holder_name: str
    uscc: str
    permits: tuple[PermitFact, ...]
    department_names: Mapping[str, str] = field(default_factory=dict)
    item_labels: Mapping[str, str] = field(default_factory=dict)  # field keys / material codes → 中文名称


@dataclass(frozen=True)
class ReviewFacts:
    """One department's review as it stands; `decision` is None while the department has not decided."""

    department_code: str
    permit_codes: tuple[str, ...]
    decision: Decision | None
    opinion: str | None = None
    reviewer: str | None = None
    decided_at: datetime | None = None
    requested_items: tuple[str, ...] = ()
    round: int = 1


@dataclass(frozen=True)
class RequestedItem:
    """A field or material a department wants supplemented (补正事项)."""

    key: str
    label: str


@dataclass(frozen=True)
class DepartmentOpinion:
    """One department's line in the composite opinion."""

    department_code: str
    department_name: str
    permit_names: tuple[str, ...]
    mandatory: bool
    decision: Decision
    opinion: str
    reviewer: str | None
    decided_at: datetime | None
    requested_items: tuple[RequestedItem, ...] = ()
    round: int = 1


@dataclass(frozen=True)
class PermitOutcome:
    code: str
    name: str
    department_code: str
    mandatory: bool
    decision: Decision


@dataclass(frozen=True)
class CompositeOpinion:
    """综合审批意见: each department's decision and the overall outcome with its reasons."""

    application_id: str
    reference: str
    industry_code: str
    industry_name: str
    holder_name: str
    uscc: str
    outcome: Outcome
    summary: str
    departments: tuple[DepartmentOpinion, ...]
    permits: tuple[PermitOutcome, ...]
    rejections: tuple[DepartmentOpinion, ...] = ()  # the departments whose refusal decides a REJECT
    supplements: tuple[DepartmentOpinion, ...] = ()  # the departments asking for supplement

    @property
    def granted_permits(self) -> tuple[PermitOutcome, ...]:
        """The permits the composite license will carry: none unless the outcome is APPROVE."""
        if self.outcome is not Outcome.APPROVE:
            return ()
        return tuple(p for p in self.permits if p.decision is Decision.APPROVE)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, stored on the application and read back with `from_dict`."""
        return {
            "application_id": self.application_id,
            "reference": self.reference,
            "industry_code": self.industry_code,
            "industry_name": self.industry_name,
            "holder_name": self.holder_name,
            "uscc": self.uscc,
            "outcome": self.outcome.value,
            "summary": self.summary,
            "departments": [_department_to_dict(d) for d in self.departments],
            "permits": [
                {
                    "code": p.code,
                    "name": p.name,
                    "department_code": p.department_code,
                    "mandatory": p.mandatory,
                    "decision": p.decision.value,
                }
                for p in self.permits
            ],
            "rejections": [d.department_code for d in self.rejections],
            "supplements": [d.department_code for d in self.supplements],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CompositeOpinion:
        departments = tuple(_department_from_dict(d) for d in data["departments"])
        by_code = {d.department_code: d for d in departments}
        return cls(
            application_id=data["application_id"],
            reference=data["reference"],
            industry_code=data["industry_code"],
            industry_name=data["industry_name"],
            holder_name=data["holder_name"],
            uscc=data["uscc"],
            outcome=Outcome(data["outcome"]),
            summary=data["summary"],
            departments=departments,
            permits=tuple(
                PermitOutcome(
                    code=p["code"],
                    name=p["name"],
                    department_code=p["department_code"],
                    mandatory=p["mandatory"],
                    decision=Decision(p["decision"]),
                )
                for p in data["permits"]
            ),
            rejections=tuple(by_code[c] for c in data["rejections"]),
            supplements=tuple(by_code[c] for c in data["supplements"]),
        )


def composite_opinion(application: ApplicationFacts, reviews: Iterable[ReviewFacts]) -> CompositeOpinion:
    """Fold the departments' decisions into the composite opinion.

    REJECT when a department refused a mandatory permit (or nothing at all could be granted); otherwise
    SUPPLEMENT when any department asked for supplement; otherwise APPROVE. Refusal wins over supplement because
    supplementing cannot change a decision the refusing department will not revisit. A refused optional permit is
    simply left out of the license."""
    reviews = tuple(reviews)
    if not application.permits:
        raise AggregationNotReady("申请未包含任何许可事项")
    by_department = {r.department_code: r for r in reviews}
    undecided = [r.department_code for r in reviews if r.decision is None]
    if undecided:
        raise AggregationNotReady(f"以下部门尚未作出审查决定：{'、'.join(undecided)}")
    uncovered = [p.code for p in application.permits if p.department_code not in by_department]
    if uncovered:
        raise AggregationNotReady(f"以下许可事项没有对应的部门审查：{'、'.join(uncovered)}")

    decided = {code: review.decision for code, review in by_department.items() if review.decision is not None}
    permits = tuple(
        PermitOutcome(
            code=p.code,
            name=p.name,
            department_code=p.department_code,
            mandatory=p.mandatory,
            decision=decided[p.department_code],  # every department decided: checked above
        )
        for p in application.permits
    )
    departments = tuple(_department_opinion(application, r) for r in reviews)
    by_code = {d.department_code: d for d in departments}

    refusing = _unique(p.department_code for p in permits if p.mandatory and p.decision is Decision.REJECT)
    nothing_granted = not any(p.decision is Decision.APPROVE for p in permits)
    supplementing = [d for d in departments if d.decision is Decision.SUPPLEMENT]

    if refusing or (nothing_granted and not supplementing):
        if not refusing:  # only optional permits, all refused
            refusing = _unique(p.department_code for p in permits if p.decision is Decision.REJECT)
        rejections = tuple(by_code[c] for c in refusing)
        summary = "不予许可。" + "；".join(f"{d.department_name}：{d.opinion}" for d in rejections) + "。"
        return _opinion(application, Outcome.REJECT, summary, departments, permits, rejections=rejections)
    if supplementing:
        parts = [
            f"{d.department_name}：{'、'.join(i.label for i in d.requested_items) or d.opinion}" for d in supplementing
        ]
        summary = "请申请人补正以下内容后再行审查。" + "；".join(parts) + "。"
        return _opinion(
            application, Outcome.SUPPLEMENT, summary, departments, permits, supplements=tuple(supplementing)
        )
    granted = [p.name for p in permits if p.decision is Decision.APPROVE]
    summary = f"经{len(departments)}个部门并联审查，准予许可：{'、'.join(granted)}。"
    left_out = [p.name for p in permits if p.decision is Decision.REJECT]
    if left_out:
        summary += f"以下非必备许可事项未获准予：{'、'.join(left_out)}。"
    return _opinion(application, Outcome.APPROVE, summary, departments, permits)


def render_composite_opinion(opinion: CompositeOpinion, templates_dir: Path | None = None) -> str:
    """The composite opinion as an HTML document, from templates/composite_opinion.html.j2."""
    return environment(templates_dir).get_template("composite_opinion.html.j2").render(opinion=opinion)


def _department_opinion(application: ApplicationFacts, review: ReviewFacts) -> DepartmentOpinion:
    permits = [p for p in application.permits if p.department_code == review.department_code]
    decision = review.decision
    assert decision is not None  # composite_opinion checked every review is decided
    return DepartmentOpinion(
        department_code=review.department_code,
        department_name=application.department_names.get(review.department_code, review.department_code),
        permit_names=tuple(p.name for p in permits),
        mandatory=any(p.mandatory for p in permits),
        decision=decision,
        opinion=(review.opinion or "").strip() or decision.label,
        reviewer=review.reviewer,
        decided_at=review.decided_at,
        requested_items=tuple(
            RequestedItem(key=k, label=application.item_labels.get(k, k)) for k in review.requested_items
        ),
        round=review.round,
    )


def _opinion(
    application: ApplicationFacts,
    outcome: Outcome,
    summary: str,
    departments: tuple[DepartmentOpinion, ...],
    permits: tuple[PermitOutcome, ...],
    *,
    rejections: tuple[DepartmentOpinion, ...] = (),
    supplements: tuple[DepartmentOpinion, ...] = (),
) -> CompositeOpinion:
    return CompositeOpinion(
        application_id=application.application_id,
        reference=application.reference,
        industry_code=application.industry_code,
        industry_name=application.industry_name,
        holder_name=application.holder_name,
        uscc=application.uscc,
        outcome=outcome,
        summary=summary,
        departments=departments,
        permits=permits,
        rejections=rejections,
        supplements=supplements,
    )


def _unique(codes: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(codes))


def _department_to_dict(d: DepartmentOpinion) -> dict[str, Any]:
    return {
        "department_code": d.department_code,
        "department_name": d.department_name,
        "permit_names": list(d.permit_names),
        "mandatory": d.mandatory,
        "decision": d.decision.value,
        "opinion": d.opinion,
        "reviewer": d.reviewer,
        "decided_at": d.decided_at.isoformat() if d.decided_at else None,
        "requested_items": [{"key": i.key, "label": i.label} for i in d.requested_items],
        "round": d.round,
    }


def _department_from_dict(d: Mapping[str, Any]) -> DepartmentOpinion:
    return DepartmentOpinion(
        department_code=d["department_code"],
        department_name=d["department_name"],
        permit_names=tuple(d["permit_names"]),
        mandatory=d["mandatory"],
        decision=Decision(d["decision"]),
        opinion=d["opinion"],
        reviewer=d["reviewer"],
        decided_at=datetime.fromisoformat(d["decided_at"]) if d["decided_at"] else None,
        requested_items=tuple(RequestedItem(key=i["key"], label=i["label"]) for i in d["requested_items"]),
        round=d["round"],
    )
