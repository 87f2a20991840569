"""Instant approval (秒批): whether the system may grant a department's permits at once, by the catalog's declared
rules (`auto_approve`, the same safe expressions as pre-review). Pure: the permits and the answers come as
arguments; the service adds what only the database knows (the applicant's credit) and records the decision with
the rules and the inputs they read."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from forms.model import Permit


@dataclass(frozen=True)
class RuleResult:
    permit_code: str
    rule: str  # the expression as written in the catalog
    message: str
    passed: bool  # an unanswered field or an incomparable value does not pass
    inputs: dict[str, Any]  # the answers the rule read


@dataclass(frozen=True)
class AutoDecision:
    eligible: bool  # every permit declares rules and every rule passed
    results: tuple[RuleResult, ...]

    @property
    def failed(self) -> tuple[RuleResult, ...]:
        return tuple(r for r in self.results if not r.passed)

    def opinion(self) -> str:
        held = "；".join(dict.fromkeys(r.message for r in self.results))
        return f"符合秒批条件（{held}），系统先予许可，事后核查。"


def auto_decision(permits: Sequence[Permit], answers: Mapping[str, Any]) -> AutoDecision:
    """The instant-approval verdict for one department's permits of an application."""
    results = tuple(
        RuleResult(
            permit_code=permit.code,
            rule=rule.check.source,
            message=rule.message,
            passed=rule.check.evaluate(answers) is True,
            inputs={name: answers.get(name) for name in sorted(rule.check.names)},
        )
        for permit in permits
        for rule in permit.auto_approve
    )
    declared = bool(permits) and all(permit.auto_approve for permit in permits)
    return AutoDecision(eligible=declared and all(r.passed for r in results), results=results)
