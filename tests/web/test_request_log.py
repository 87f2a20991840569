"""One log line per request with its request id (issue 22): `X-Request-ID` taken when sane, made otherwise, echoed;
JSON lines by setting; nothing personal in them, whatever the request carried."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from sqlmodel import col, select

from onelicense.review.roles import Actor, Role
from onelicense.services import reviews
from onelicense.store.db import session_scope
from onelicense.store.tables.application import AuditEvent
from tests.web.conftest import BOTH_DATABASES, OWN, Api
from tests.web.live import wait_until_answering
from tests.web.sample import submission_body

ID_NUMBER, PHONE = "11010519491231002X", "13912345678"


def test_the_callers_request_id_is_echoed_and_a_bad_one_replaced(client: TestClient) -> None:
    given = client.get("/healthz", headers={"X-Request-ID": "lb-7f3a.01"})
    assert given.headers["x-request-id"] == "lb-7f3a.01"
    made = client.get("/healthz")
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["x-request-id"])
    for bad in ("two words", "x" * 65, "ok\u202e"):
        answer = client.get("/healthz", headers={"X-Request-ID": bad.encode()})
        assert re.fullmatch(r"[0-9a-f]{32}", answer.headers["x-request-id"]), bad
    refused = client.get("/api/applications", headers={"X-Request-ID": "refused-1"})  # no token: 401
    assert refused.status_code == 401 and refused.headers["x-request-id"] == "refused-1"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_served_request_logs_one_json_line_with_its_id_and_nothing_personal(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ONELICENSE_", "PREFECT_"))}
    env.update(
        ONELICENSE_DATA_DIR=str(tmp_path / "data"),
        ONELICENSE_PREFECT_PORT=str(_free_port()),
        ONELICENSE_LOG_JSON="true",
    )
    log = tmp_path / "serve.log"
    with log.open("w") as sink:
        server = subprocess.Popen(
            [sys.executable, "-m", "onelicense", "serve", "--api-only", "--port", str(port)],
            env=env, stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(f"{base}/healthz", server, headers={"X-Request-ID": "warm-up"})
        sent = {
            "q-1": httpx.get(f"{base}/publicity", params={"q": PHONE}, headers={"X-Request-ID": "q-1"}),
            "body-1": httpx.post(
                f"{base}/api/applications",
                json={"industry_code": "X", "answers": {"id_number": ID_NUMBER, "contact_phone": PHONE}},
                headers={"X-Request-ID": "body-1"},
            ),
            "v-1": httpx.get(f"{base}/v/{PHONE}", headers={"X-Request-ID": "v-1"}),
        }
        assert all(r.status_code < 500 for r in sent.values()), {k: r.status_code for k, r in sent.items()}
        time.sleep(0.5)  # the lines are written after the responses
    finally:
        server.terminate()
        server.wait(timeout=30)
    text = log.read_text()
    ours = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    by_id = {entry["request_id"]: entry for entry in ours if entry["logger"] == "onelicense.web.request"}
    for request_id, response in sent.items():
        assert response.headers["x-request-id"] == request_id
        line = by_id[request_id]
        assert (line["status"], line["method"]) == (response.status_code, response.request.method)
        assert line["ms"] >= 0 and "?" not in line["path"]
    assert by_id["q-1"]["path"] == "/publicity" and by_id["v-1"]["path"] == "/v/{token}"  # templates, not typed
    assert ID_NUMBER not in text and PHONE not in text


@BOTH_DATABASES
def test_audit_events_carry_the_id_of_the_request_that_caused_them(api: Api) -> None:
    submitted = api.post(
        "/api/applications", "applicant", json=submission_body(), headers={"X-Request-ID": "hall-desk-3.0042"}
    )
    assert submitted.status_code == 201, submitted.text
    review_id = api.review_id(submitted.json())
    claimed = api.post(f"/api/queue/{review_id}/claim", "reviewer", headers={"X-Request-ID": "desk-claim-7"})
    assert claimed.status_code == 200, claimed.text
    with session_scope() as session:  # no request: the worker, the CLI, a flow
        reviews.release(session, Actor(api.users.ids["reviewer"], Role.REVIEWER, OWN), review_id)
    with session_scope() as session:
        events = session.exec(select(AuditEvent).order_by(col(AuditEvent.id))).all()
    by_action = {e.action: e.request_id for e in events}
    assert by_action["application.submit"] == "hall-desk-3.0042"
    assert by_action["review.claim"] == "desk-claim-7"
    assert by_action["review.release"] is None
