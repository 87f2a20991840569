"""Instant approval (秒批): whether the system may grant a department's permits at once, by the catalog's declared
rules (`auto_approve`, the same safe expressions as pre-review), for the industries they were written for only.
Pure: the permits, the answers and the industry come as arguments; the service adds what only the database knows
(the applicant's credit) and records the decision with the rules and the inputs they read."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from onelicense.forms.model import Permit


@dataclass(frozen=True)
class RuleResult:
    permit_code: str
    rule: str  # the expression as written in the catalog
    message: str
    passed: bool  # an unanswered field or an incomparable value does not pass
    inputs: dict[str, Any]  # the answers the rule read


@dataclass(frozen=True)
class AutoDecision:
    eligible: bool  # every permit declares rules for the industry and every rule passed
    results: tuple[RuleResult, ...]
    # permits without rules for the application's industry: their department decides, whatever the answers
    uncovered: tuple[str, ...] = ()

    @property
    def failed(self) -> tuple[RuleResult, ...]:
        return tuple(r for r in self.results if not r.passed)

    def opinion(self) -> str:
        held = "；".join(dict.fromkeys(r.message for r in self.results))
        return f"符合秒批条件（{held}），系统先予许可，事后核查。"


def auto_decision(permits: Sequence[Permit], answers: Mapping[str, Any], *, industry_code: str) -> AutoDecision:
    """The instant-approval verdict for one department's permits of an application of `industry_code`. Rules
    written for other industries are not evaluated: a rule set that holds for a beauty shop's answers says nothing
    about a hotel giving the same answers."""
    rule_sets = {
        permit.code: permit.auto_approve.rules
        for permit in permits
        if permit.auto_approve is not None and permit.auto_approve.covers(industry_code)
    }
    results = tuple(
        RuleResult(
            permit_code=code,
            rule=rule.check.source,
            message=rule.message,
            passed=rule.check.evaluate(answers) is True,
            inputs={name: answers.get(name) for name in sorted(rule.check.names)},
        )
        for code, rules in rule_sets.items()
        for rule in rules
    )
    uncovered = tuple(p.code for p in permits if p.code not in rule_sets)
    eligible = bool(permits) and not uncovered and all(rule_sets.values()) and all(r.passed for r in results)
    return AutoDecision(eligible=eligible, results=results, uncovered=uncovered)
