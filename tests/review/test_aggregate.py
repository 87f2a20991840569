"""The composite opinion rules (综合审批意见) and its rendering, on plain dataclasses: no database."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onelicense.review.aggregate import (
    AggregationNotReady,
    ApplicationFacts,
    CompositeOpinion,
    PermitFact,
    ReviewFacts,
    composite_opinion,
    render_composite_opinion,
)
from onelicense.review.transitions import Decision, Outcome

DECIDED = datetime(2025, 6, 12, 2, 30, tzinfo=UTC)


def facts(*permits: PermitFact) -> ApplicationFacts:
    return ApplicationFacts(
        application_id="a1",
        reference="SQ20250612-0000ABCD",
        industry_code="hotel",
        industry_name="宾馆",
        holder_name="重庆𠀀悦来酒店有限公司",
        uscc="91500000MA5U7K2X3Q",
        permits=permits
        or (
            PermitFact("FOOD", "食品经营许可", "MKT"),
            PermitFact("FIRE_CHECK", "消防安全检查", "FIRE"),
            PermitFact("SIGN", "户外招牌设置", "CITY", mandatory=False),
        ),
        department_names={"MKT": "市场监管局", "FIRE": "消防救援支队", "CITY": "城市管理局"},
        item_labels={"fire_plan": "消防平面图", "exits": "安全出口数量"},
    )


def review(
    dept: str, decision: Decision | None, opinion: str | None = None, items: tuple[str, ...] = ()
) -> ReviewFacts:
    codes = {"MKT": ("FOOD",), "FIRE": ("FIRE_CHECK",), "CITY": ("SIGN",)}[dept]
    return ReviewFacts(dept, codes, decision, opinion, f"{dept.lower()}-1", DECIDED if decision else None, items)


def test_approve_when_every_mandatory_permit_is_approved() -> None:
    opinion = composite_opinion(
        facts(),
        [
            review("MKT", Decision.APPROVE),
            review("FIRE", Decision.APPROVE, "符合要求"),
            review("CITY", Decision.APPROVE),
        ],
    )
    assert opinion.outcome is Outcome.APPROVE
    assert [p.code for p in opinion.granted_permits] == ["FOOD", "FIRE_CHECK", "SIGN"]
    assert "准予许可" in opinion.summary and "食品经营许可" in opinion.summary
    fire = next(d for d in opinion.departments if d.department_code == "FIRE")
    assert (fire.department_name, fire.decision, fire.opinion, fire.reviewer, fire.decided_at) == (
        "消防救援支队",
        Decision.APPROVE,
        "符合要求",
        "fire-1",
        DECIDED,
    )


def test_refused_optional_permit_is_left_out_but_the_license_is_granted() -> None:
    opinion = composite_opinion(
        facts(),
        [
            review("MKT", Decision.APPROVE),
            review("FIRE", Decision.APPROVE),
            review("CITY", Decision.REJECT, "位置不符"),
        ],
    )
    assert opinion.outcome is Outcome.APPROVE
    assert [p.code for p in opinion.granted_permits] == ["FOOD", "FIRE_CHECK"]
    assert "户外招牌设置" in opinion.summary and opinion.rejections == ()


def test_reject_names_the_refusing_departments_and_their_opinions() -> None:
    opinion = composite_opinion(
        facts(),
        [
            review("MKT", Decision.APPROVE),
            review("FIRE", Decision.REJECT, "疏散通道不足"),
            review("CITY", Decision.SUPPLEMENT, "补充效果图", ("sign_design",)),
        ],
    )
    assert opinion.outcome is Outcome.REJECT  # a refusal wins over a supplement request
    assert [d.department_code for d in opinion.rejections] == ["FIRE"]
    assert "消防救援支队：疏散通道不足" in opinion.summary
    assert opinion.granted_permits == ()


def test_supplement_lists_the_requested_items_per_department() -> None:
    opinion = composite_opinion(
        facts(),
        [
            review("MKT", Decision.APPROVE),
            review("FIRE", Decision.SUPPLEMENT, "请补充图纸", ("fire_plan", "exits")),
            review("CITY", Decision.APPROVE),
        ],
    )
    assert opinion.outcome is Outcome.SUPPLEMENT
    (fire,) = opinion.supplements
    assert [(i.key, i.label) for i in fire.requested_items] == [("fire_plan", "消防平面图"), ("exits", "安全出口数量")]
    assert "消防平面图、安全出口数量" in opinion.summary


def test_nothing_granted_is_a_rejection_even_when_all_permits_are_optional() -> None:
    optional = PermitFact("SIGN", "户外招牌设置", "CITY", mandatory=False)
    opinion = composite_opinion(facts(optional), [review("CITY", Decision.REJECT, "不符合规划")])
    assert opinion.outcome is Outcome.REJECT
    assert "不符合规划" in opinion.summary


def test_undecided_department_is_not_ready() -> None:
    with pytest.raises(AggregationNotReady, match="FIRE"):
        composite_opinion(
            facts(), [review("MKT", Decision.APPROVE), review("FIRE", None), review("CITY", Decision.APPROVE)]
        )


def test_permit_without_review_is_not_ready() -> None:
    with pytest.raises(AggregationNotReady, match="FIRE_CHECK"):
        composite_opinion(facts(), [review("MKT", Decision.APPROVE), review("CITY", Decision.APPROVE)])


def test_dict_round_trip_is_lossless() -> None:
    opinion = composite_opinion(
        facts(),
        [
            review("MKT", Decision.APPROVE),
            review("FIRE", Decision.SUPPLEMENT, "补图😀", ("fire_plan",)),
            review("CITY", Decision.REJECT, "否"),
        ],
    )
    assert CompositeOpinion.from_dict(opinion.to_dict()) == opinion


decisions = st.sampled_from(list(Decision))


@given(mkt=decisions, fire=decisions, city=decisions)
def test_outcome_rules_hold_for_every_combination(mkt: Decision, fire: Decision, city: Decision) -> None:
    opinion = composite_opinion(
        facts(), [review("MKT", mkt, "意见"), review("FIRE", fire, "意见"), review("CITY", city, "意见")]
    )
    mandatory = [mkt, fire]
    if Decision.REJECT in mandatory:
        expected = Outcome.REJECT
    elif Decision.SUPPLEMENT in (mkt, fire, city):
        expected = Outcome.SUPPLEMENT
    else:
        expected = Outcome.APPROVE
    assert opinion.outcome is expected
    if expected is Outcome.APPROVE:
        assert {"FOOD", "FIRE_CHECK"} <= {p.code for p in opinion.granted_permits}
    else:
        assert opinion.granted_permits == ()


def test_rendered_document_shows_every_department_and_escapes_text(tmp_path) -> None:
    opinion = composite_opinion(
        facts(),
        [
            review("MKT", Decision.APPROVE, "<script>alert(1)</script>"),
            review("FIRE", Decision.SUPPLEMENT, "请补充", ("fire_plan",)),
            review("CITY", Decision.APPROVE),
        ],
    )
    html = render_composite_opinion(opinion)
    assert html.startswith("<!DOCTYPE html>")
    assert "综合审批意见" in html and "需补正材料" in html
    assert "市场监管局" in html and "消防救援支队" in html and "城市管理局" in html
    assert "消防平面图" in html and "重庆𠀀悦来酒店有限公司" in html
    assert "2025-06-12 10:30" in html  # shown in Beijing time
    assert "<script>" not in html and "&lt;script&gt;" in html
