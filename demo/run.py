"""The main job: one application for the widest industry, simulated department reviewers, the whole path.

submit (the service: validate, pre-review, store) → the dispatcher runs the fan-out flow (nine concurrent
department task runs, pushes to stand-in department systems) → reviewers act on their queues after random delays →
the last decision queues aggregation → the dispatcher runs the aggregation flow → license issued.

Everything goes through the service layer, as the API and the portal do: nothing here writes to the store itself.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from onelicense.demo.department_systems import DepartmentSystems
from onelicense.demo.timeline import TaskSpan, department_task_spans
from onelicense.flows.dispatcher import run_dispatcher
from onelicense.licenses.qr import verify_url
from onelicense.review.roles import Actor, Role
from onelicense.review.transitions import UNCLAIMED_REVIEW_STATUSES, ApplicationStatus, Decision
from onelicense.services import applications, licenses, reviews, users
from onelicense.settings import get_settings
from onelicense.store.db import migrate, session_scope


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
        spans = [(s.start, s.end) for s in self.task_spans if s.start and s.end]
        return len(spans) > 1 and max(start for start, _ in spans) < min(end for _, end in spans)


def simulated_reviewer(actor: Actor, plan: ReviewerPlan, stop: threading.Event, rng: random.Random) -> None:
    """A department reviewer working its queue: waits a while, claims, decides with the suggested opinion."""
    asked: set[str] = set()
    while not stop.is_set():
        with session_scope() as session:
            # a reviewer opens a case once the system prepared it (key fields, suggested opinion)
            queue = [
                item
                for item in reviews.list_queue(session, actor, status=UNCLAIMED_REVIEW_STATUSES)
                if item.review.suggested_opinion
            ]
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


def _setup_users(uscc: str, department_codes: list[str]) -> tuple[Actor, list[Actor]]:
    """An applicant account for the sample business and one reviewer per department, each signed in with its own
    token as a real client would be."""
    with session_scope() as session:
        tokens = [users.create_user(session, "演示申请人", Role.APPLICANT, usccs=[uscc])[1]]
        tokens += [
            users.create_user(session, f"演示审批员-{code}", Role.REVIEWER, department_code=code)[1]
            for code in department_codes
        ]
        actors = [users.authenticate(session, token) for token in tokens]
    assert all(actors)
    applicant, *reviewers = [a for a in actors if a is not None]
    return applicant, reviewers


def run_demo(
    plan: ReviewerPlan | None = None,
    *,
    industry_code: str | None = None,
    on_progress: Callable[[applications.ApplicationProgress], object] | None = None,
    timeout: float = 300,
) -> DemoResult:
    from onelicense.demo.sample import sample_application

    plan = plan or ReviewerPlan()
    rng = random.Random(plan.seed)
    migrate()
    sample = sample_application(industry_code, serial=rng.randrange(1, 10**6))
    codes = [d.code for d in sample.form.departments]
    applicant, reviewer_actors = _setup_users(sample.answers["uscc"], codes)
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
    with session_scope() as session:
        app_id = applications.submit(
            session, applicant, industry_code=sample.industry_code, answers=sample.answers, materials=sample.materials
        ).application.id
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
            if status is ApplicationStatus.REJECTED or (status is ApplicationStatus.ISSUED and _rendered(progress)):
                break
            time.sleep(0.2)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
        systems.stop()
        settings.department_endpoints = previous_endpoints
    result = _result(app_id, applicant, started, amended, len(codes))
    result.pushed = {code: len(items) for code, items in systems.received.items()}
    return result


def _rendered(progress: applications.ApplicationProgress) -> bool:
    """The certificate is its own step after issuing: the demo shows it once the file is there."""
    return bool(progress.license and progress.license.pdf_path and Path(progress.license.pdf_path).is_file())


def _amend(applicant: Actor, progress: Any, answers: dict[str, Any]) -> list[str]:
    """The applicant supplements exactly what was asked for (same values re-confirmed, as in a real 补正)."""
    keys = [k for r in progress.reviews for k in (r.requested_items or []) if k in answers]
    with session_scope() as session:
        applications.amend(session, applicant, progress.application.id, {k: answers[k] for k in keys}, {})
    return keys


def _result(app_id: str, applicant: Actor, started: float, amended: list[str], n: int) -> DemoResult:
    with session_scope() as session:
        progress = applications.list_progress(session, applicant, app_id)
        license_ = licenses.license_of_application(session, applicant, app_id)
    result = DemoResult(
        application_id=app_id,
        reference=progress.application.reference,
        status=progress.application.status,
        opinion=progress.application.composite_opinion,
        reviews=progress.reviews,
        task_spans=department_task_spans(app_id, n),
        elapsed=time.monotonic() - started,
        amended=amended,
    )
    if license_ is not None:
        result.license_number = license_.number
        result.pdf_path = license_.pdf_path
        result.verify_url = verify_url(get_settings().public_base_url, license_.token)
    return result
