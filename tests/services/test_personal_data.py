"""ID numbers stay out of the append-only audit log (issue 17, low): a submission's and an amendment's audit
events keep only a masked form, the application row keeps the number (the departments need it)."""

from __future__ import annotations

import json

from sqlmodel import Session, select

from onelicense.store.audit import mask_id_number
from onelicense.store.tables.application import AuditEvent
from tests.builders import APPLICANT, submit_valid


def test_the_audit_log_holds_no_id_number(session: Session) -> None:
    submitted = submit_valid(session, APPLICANT)
    number = submitted.application.answers["legal_rep_id_number"]
    assert len(number) == 18
    logged = json.dumps([e.after for e in session.exec(select(AuditEvent))], ensure_ascii=False)
    assert number not in logged and mask_id_number(number) in logged
    assert mask_id_number(number) == number[:4] + "*" * 10 + number[-4:]
