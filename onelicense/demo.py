"""The main job: one application for the widest industry, simulated department reviewers, the whole path.

submit (Prefect flow, nine concurrent department task runs) → reviewers act on their queues after random delays →
the last decision queues aggregation → the dispatcher runs the aggregation flow → license issued.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from sqlmodel import select

from flows.application import submit_application
from flows.department_stub import DepartmentSystems
from flows.dispatcher import run_dispatcher
from licenses.qr import verify_url
from onelicense.settings import get_settings
from review.roles import Actor, Role
from review.transitions import UNCLAIMED_REVIEW_STATUSES, ApplicationStatus, Decision
from store import applications, reviews, users
from store.db import migrate, session_scope
from store.tables.license import License

FINAL = {ApplicationStatus.ISSUED, ApplicationStatus.REJECTED}


@dataclass
class ReviewerPlan:
    """How the simulated reviewers behave: random delay range, and departments that ask for supplement once."""

    min_delay: float = 0.2
    max_delay: float = 2.0
    supplement_departments: tuple[str, ...] = ()
    reject_departments: tuple[str, ...] = ()
    seed: int | None = None
    push_latency: float = 0.3  # the simulated department systems take this long to accept a push


@dataclass
class TaskSpan:
    name: str
    start: datetime | None
    end: datetime | None


@dataclass
class DemoResult:
    application_id: str
    reference: str
    status: ApplicationStatus
    opinion: dict[str, Any] | None
    reviews: list[Any]
    task_spans: list[TaskSpan]
    license_number: str | None = None
    pdf_path: str | None = None
    verify_url: str | None = None
    elapsed: float = 0.0
    amended: list[str] = field(default_factory=list)
    pushed: dict[str, int] = field(default_factory=dict)

    @property
    def fan_out_overlapped(self) -> bool:
        """True when every department task run started before any of them ended (they ran concurrently)."""
        spans = [s for s in self.task_spans if s.start and s.end]
        return len(spans) > 1 and max(s.start for s in spans) < min(s.end for s in spans)


def simulated_reviewer(actor: Actor, plan: ReviewerPlan, stop: threading.Event, rng: random.Random) -> None:
    """A department reviewer working its queue: waits a while, claims, decides with the suggested opinion."""
    asked: set[str] = set()
    while not stop.is_set():
        with session_scope() as session:
            queue = reviews.list_queue(session, actor, status=UNCLAIMED_REVIEW_STATUSES)
        if not queue:
            stop.wait(0.1)
            continue
        for item in queue:
            review = item.review
            stop.wait(rng.uniform(plan.min_delay, plan.max_delay))
            with session_scope() as session:
                claimed = reviews.claim(session, actor, review.id)
                if actor.department_code in plan.reject_departments:
                    reviews.decide(session, actor, claimed.id, Decision.REJECT, "经审查，不符合许可条件。")
                elif actor.department_code in plan.supplement_departments and review.application_id not in asked:
                    asked.add(review.application_id)
                    item = (claimed.key_fields.get("fields") or [{"key": "floor_area"}])[-1]["key"]
                    reviews.decide(session, actor, claimed.id, Decision.SUPPLEMENT, "请补正相关信息。", [item])
                else:
                    opinion = (claimed.suggested_opinion or "").splitlines()[0] if claimed.suggested_opinion else ""
                    reviews.decide(session, actor, claimed.id, Decision.APPROVE, f"同意。{opinion}")


def _setup_users(department_codes: list[str]) -> tuple[Actor, list[Actor]]:
    with session_scope() as session:
        applicant, _ = users.create_user(session, "演示申请人", Role.APPLICANT)
        reviewers = []
        for code in department_codes:
            user, _ = users.create_user(session, f"演示审批员-{code}", Role.REVIEWER, department_code=code)
            reviewers.append(Actor(user.id, Role.REVIEWER, code))
    return Actor(applicant.id, Role.APPLICANT), reviewers


def department_task_spans(flow_run_id: Any, expected: int, timeout: float = 10.0) -> list[TaskSpan]:
    """The department task runs of a flow run as Prefect recorded them (its API may lag a moment behind)."""
    deadline = time.monotonic() + timeout
    spans: list[TaskSpan] = []
    with get_client(sync_client=True) as client:
        while time.monotonic() < deadline:
            runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))
            spans = [TaskSpan(r.name, r.start_time, r.end_time) for r in runs if r.name.startswith("department-review")]
            if len(spans) >= expected and all(s.start and s.end for s in spans):
                break
            time.sleep(0.2)
    return sorted(spans, key=lambda s: s.name)


def run_demo(
    plan: ReviewerPlan | None = None, *, industry_code: str | None = None, on_progress=None, timeout: float = 300
) -> DemoResult:
    from onelicense.sample import sample_application

    plan = plan or ReviewerPlan()
    rng = random.Random(plan.seed)
    migrate()
    sample = sample_application(industry_code, serial=rng.randrange(1, 10**6))
    codes = [d.code for d in sample.form.departments]
    applicant, reviewer_actors = _setup_users(codes)
    systems = DepartmentSystems(latency=plan.push_latency).start()
    settings = get_settings()
    previous_endpoints = settings.department_endpoints
    settings.department_endpoints = {**systems.endpoints(codes), **previous_endpoints}
    stop = threading.Event()
    threads = [threading.Thread(target=run_dispatcher, args=(stop,), name="dispatcher", daemon=True)]
    threads += [
        threading.Thread(
            target=simulated_reviewer, args=(a, plan, stop, random.Random(rng.random())), daemon=True, name=a.label
        )
        for a in reviewer_actors
    ]
    started = time.monotonic()
    state = submit_application(
        sample.industry_code, sample.answers, sample.materials, applicant.user_id, True, None, return_state=True
    )
    submitted = state.result()
    if not submitted["accepted"]:
        raise RuntimeError(f"示例申请未通过预审：{submitted}")
    app_id = submitted["application_id"]
    for thread in threads:
        thread.start()
    amended: list[str] = []
    try:
        while time.monotonic() - started < timeout:
            with session_scope() as session:
                progress = applications.list_progress(session, applicant, app_id)
            if on_progress:
                on_progress(progress)
            status = progress.application.status
            if status == ApplicationStatus.SUPPLEMENT_REQUESTED:
                amended += _amend(applicant, progress, sample.answers)
            if status in FINAL:
                break
            time.sleep(0.2)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
        systems.stop()
        settings.department_endpoints = previous_endpoints
    result = _result(app_id, applicant, state, started, amended, len(codes))
    result.pushed = {code: len(items) for code, items in systems.received.items()}
    return result


def _amend(applicant: Actor, progress: Any, answers: dict[str, Any]) -> list[str]:
    """The applicant supplements exactly what was asked for (same values re-confirmed, as in a real 补正)."""
    keys = [k for r in progress.reviews for k in (r.requested_items or []) if k in answers]
    with session_scope() as session:
        applications.amend(session, applicant, progress.application.id, {k: answers[k] for k in keys}, {})
    return keys


def _result(app_id: str, applicant: Actor, state: Any, started: float, amended: list[str], n: int) -> DemoResult:
    with session_scope() as session:
        progress = applications.list_progress(session, applicant, app_id)
        license_ = session.exec(select(License).where(License.application_id == app_id)).first()
    result = DemoResult(
        application_id=app_id,
        reference=progress.application.reference,
        status=progress.application.status,
        opinion=progress.application.composite_opinion,
        reviews=progress.reviews,
        task_spans=department_task_spans(state.state_details.flow_run_id, n),
        elapsed=time.monotonic() - started,
        amended=amended,
    )
    if license_ is not None:
        result.license_number = license_.number
        result.pdf_path = license_.pdf_path
        result.verify_url = verify_url(get_settings().public_base_url, license_.token)
    return result
