"""Who is acting: every service function takes an Actor and checks it server-side."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from onelicense.errors import Forbidden


class Role(StrEnum):
    APPLICANT = "applicant"  # 申请人
    REVIEWER = "reviewer"  # 部门审批人员
    SUPERVISOR = "supervisor"  # 政务服务中心督办人员: reads the timeliness board, decides nothing
    ADMIN = "admin"  # 管理员
    SYSTEM = "system"  # flows and the dispatcher acting on their own


@dataclass(frozen=True)
class Actor:
    """The authenticated caller: a user id, a role and, for reviewers, the department it belongs to."""

    user_id: str
    role: Role
    department_code: str | None = None
    # for an applicant authenticated from its account: the 统一社会信用代码 it may act for. None only for actors
    # built in code (the system, tests), never for one that authenticated
    usccs: frozenset[str] | None = None
    # of those, the ones whose binding is verified (services.bindings); None as above: trusted code
    verified_usccs: frozenset[str] | None = None

    @property
    def label(self) -> str:
        dept = f"@{self.department_code}" if self.department_code else ""
        return f"{self.role.value}:{self.user_id}{dept}"


SYSTEM_ACTOR = Actor(user_id="system", role=Role.SYSTEM)


def require_role(actor: Actor, roles: frozenset[Role] | set[Role], what: str) -> None:
    """Forbidden unless the actor has one of `roles`; `what` names the action in the message."""
    if actor.role not in roles:
        raise Forbidden(f"当前角色（{actor.role.value}）无权{what}")
