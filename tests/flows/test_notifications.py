"""Notifications reach the holder by every configured channel exactly once, however long a channel is down: a real
SMTP server (aiosmtpd, STARTTLS required, certificate from a test CA) that is down at first, and a real local
HTTP server standing in for the SMS gateway's webhook. The dispatcher sends them; no phone number or email address
reaches a log line, an outbox payload or a stored error."""

from __future__ import annotations

import contextlib
import email as email_parser
import json
import logging
import re
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
import trustme
from aiosmtpd.controller import Controller
from sqlmodel import select

from onelicense.flows.dispatcher import Dispatcher
from onelicense.review.roles import Actor, Role
from onelicense.services import accounts, aggregation, applications, licenses, notifications, users
from onelicense.services.adapters import registry
from onelicense.settings import get_settings
from onelicense.store import outbox
from onelicense.store.db import session_scope
from onelicense.store.tables.application import OutboxMessage
from tests.builders import SYSTEM, decide_all, valid_application

PHONE = "13912345678"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 OK"


class Gateway(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Gateway.received.append({"key": self.headers["Idempotency-Key"], **json.loads(body)})
        self.send_response(202)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def channels(monkeypatch: pytest.MonkeyPatch, db_url: str, tmp_path: Path) -> Iterator[dict[str, Any]]:
    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_context)
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    gateway = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    Gateway.received = []
    threading.Thread(target=gateway.serve_forever, daemon=True).start()
    smtp_port = free_port()
    for name, value in {
        "DATABASE_URL": db_url,
        "DATA_DIR": str(tmp_path / "data"),
        "NOTIFY_CHANNELS": '["webhook", "email"]',
        "NOTIFY_WEBHOOK_URL": f"http://127.0.0.1:{gateway.server_address[1]}/sms",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(smtp_port),
        "SMTP_CA_FILE": str(ca_file),
    }.items():
        monkeypatch.setenv(f"ONELICENSE_{name}", value)
    get_settings.cache_clear()
    mailbox = Mailbox()
    controller = Controller(
        mailbox, hostname="127.0.0.1", port=smtp_port, tls_context=server_context, require_starttls=True
    )
    yield {"mailbox": mailbox, "smtp": controller}
    gateway.shutdown()
    with contextlib.suppress(AssertionError):  # never started
        controller.stop()
    get_settings.cache_clear()


def issue_for_a_registered_holder() -> tuple[Any, str]:
    """A pharmacy license issued to a holder who registered with a mobile number; (application id, email)."""
    answers, materials = valid_application("PHARMACY")
    with session_scope() as session:
        registry.import_entries(session, Actor("test-setup", Role.ADMIN), [{
            "uscc": answers["uscc"], "name": answers["holder_name"],
            "legal_representative": answers["legal_representative"], "legal_rep_phone": "13900000002"}])  # fmt: skip
        accounts.send_registration_code(session, PHONE)
        [texted] = Gateway.received  # the registration code went through the SMS gateway, to the number given
        assert texted["to"] == PHONE and texted["text"].startswith("【一业一证】注册验证码")
        Gateway.received.clear()
        user = accounts.register_applicant(
            session, name="李四", phone=PHONE, uscc=answers["uscc"], password="correct horse battery 9",
            code=re.search(r"\d{6}", texted["text"]).group(0),  # type: ignore[union-attr]
        )  # fmt: skip
        holder = users.actor_of(user)
        application = applications.submit(
            session, holder, industry_code="PHARMACY", answers=answers, materials=materials
        ).application
        decide_all(session, application.id)
        aggregation.aggregate(session, application.id)
        licenses.issue_license(session, SYSTEM, application.id)
        return holder, str(answers["email"])


def notify_messages() -> list[OutboxMessage]:
    with session_scope() as session:
        return list(session.exec(select(OutboxMessage).where(OutboxMessage.kind == outbox.NOTIFY)))


def test_a_channel_that_is_down_gets_every_message_exactly_once_when_it_is_back(
    channels: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    holder, email = issue_for_a_registered_holder()
    dispatcher = Dispatcher()
    dispatcher.dispatch_once(kinds=(outbox.NOTIFY,))  # the SMTP server is down
    sms = list(Gateway.received)
    events = ["申请已提交", "审批结果", "许可证已签发"]  # in the order they happened
    assert [m["to"] for m in sms] == [PHONE] * 3 and sorted(m["subject"] for m in sms) == sorted(events)
    messages = notify_messages()
    assert {m.payload["channel"] for m in messages} == {"webhook", "email"}
    failed = [m for m in messages if m.done_at is None]
    assert [m.payload["channel"] for m in failed] == ["email"] * 3 and {m.attempts for m in failed} == {1}
    assert all(m.dead_at is None for m in failed)  # retried later, not given up

    channels["smtp"].start()
    deadline = time.monotonic() + 15
    while notify_messages() and any(m.done_at is None for m in notify_messages()) and time.monotonic() < deadline:
        time.sleep(0.5)  # the backoff after the first failure is 2 s
        dispatcher.dispatch_once(kinds=(outbox.NOTIFY,))
    dispatcher.dispatch_once(kinds=(outbox.NOTIFY,))
    dispatcher.dispatch_once(kinds=(outbox.NOTIFY,))
    mails = channels["mailbox"].messages
    assert len(mails) == 3 and all(rcpt == [email] for rcpt, _ in mails)  # each exactly once
    subjects = sorted(str(email_parser.message_from_bytes(raw, policy=default_policy)["Subject"]) for _, raw in mails)
    assert subjects == sorted(events)
    assert len(Gateway.received) == 3  # not sent again
    assert all(m.done_at is not None for m in notify_messages())

    with session_scope() as session:
        listed, unread = notifications.inbox(session, holder)
    assert sorted(n.subject for n in listed) == sorted(events) and unread == 3
    # personal data stays in the database
    ours = [r.getMessage() for r in caplog.records if not r.name.startswith("mail.log")]  # not the test's server
    traces = " ".join(ours) + json.dumps([m.payload for m in notify_messages()])
    traces += " ".join(m.last_error or "" for m in notify_messages())
    assert PHONE not in traces and email not in traces


def issue_for(name: str, *, phone: str | None, contact_phone: str, email: bool = True) -> Actor:
    """A pharmacy license issued to an account an administrator created (`users create`, with or without a
    checked phone), whose application gives `contact_phone` (and an email address unless `email` is False)."""
    answers, materials = valid_application("PHARMACY", contact_phone=contact_phone)
    if not email:
        answers.pop("email", None)
    with session_scope() as session:
        user, _ = users.create_user(
            session, name, Role.APPLICANT, usccs=[answers["uscc"]], phone=phone, phone_verified=phone is not None
        )
        holder = users.actor_of(user)
        application = applications.submit(
            session, holder, industry_code="PHARMACY", answers=answers, materials=materials
        ).application
        decide_all(session, application.id)
        aggregation.aggregate(session, application.id)
        licenses.issue_license(session, SYSTEM, application.id)
        return holder


def test_every_holder_is_reached_at_an_address_it_gave_and_one_nobody_can_reach_shows_undelivered(
    channels: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 19: an account made by `users create` with a checked phone gets its SMS there; one without gets them
    at the application's 联系电话 (agreed to in the signed 告知承诺书); one that gave only a landline cannot get an
    SMS, and gave no email: each such notice has `no_address` receipts and shows on the board as undelivered,
    never as sent."""
    from onelicense.services.queries import supervision
    from onelicense.store.tables.lifecycle import Notification, NotificationReceipt

    caplog.set_level(logging.DEBUG)
    with_phone = issue_for("持证人甲", phone="13911110001", contact_phone="13922220001")
    contact_only = issue_for("持证人乙", phone=None, contact_phone="13922220002")
    landline = issue_for("持证人丙", phone=None, contact_phone="023-68886888", email=False)
    channels["smtp"].start()
    dispatcher = Dispatcher()
    for _ in range(3):
        dispatcher.dispatch_once(kinds=(outbox.NOTIFY,))
    by_number: dict[str, int] = {}
    for message in Gateway.received:
        by_number[message["to"]] = by_number.get(message["to"], 0) + 1
    assert by_number == {"13911110001": 3, "13922220002": 3}  # accepted, decided, issued; never the landline
    with session_scope() as session:
        receipts = list(session.exec(select(NotificationReceipt).where(NotificationReceipt.channel == "webhook")))
        owner = {n.id: n.user_id for n in session.exec(select(Notification))}
        results = {(owner[r.notification_id], r.result, r.address_source) for r in receipts}
        assert results == {
            (with_phone.user_id, "sent", "account"),
            (contact_only.user_id, "sent", "application"),
            (landline.user_id, "no_address", None),
        }
        undelivered = {row.channel: row for row in supervision.board(session, Actor("admin", Role.ADMIN)).undelivered}
        assert {c: row.count for c, row in undelivered.items()} == {"webhook": 3, "email": 3}  # the same 3 notices
        assert {owner[i] for row in undelivered.values() for i in row.notification_ids} == {landline.user_id}
        # and on the desk of each department that reviewed the application, to reach the holder another way
        from onelicense.store.tables.application import Application, DepartmentReview

        [pharmacy] = [a for a in session.exec(select(Application)) if a.submitted_by == landline.user_id]
        departments = {
            r.department_code for r in session.exec(select(DepartmentReview)) if r.application_id == pharmacy.id
        }
        for department in departments:
            listed = notifications.undelivered_for_department(session, department)
            assert sorted(n.subject for n in listed) == sorted(["申请已提交", "审批结果", "许可证已签发"])
            assert {n.reference for n in listed} == {pharmacy.reference}
    assert all(m.done_at is not None for m in notify_messages())  # done, with a receipt saying how
    traces = " ".join(r.getMessage() for r in caplog.records if not r.name.startswith("mail.log"))
    assert "13922220002" not in traces and "13911110001" not in traces
