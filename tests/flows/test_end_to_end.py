"""The whole path: an application approved by nine departments ends with a PDF whose QR code, decoded from the
rendered page by a real decoder, opens a page that says 有效; a suspended permit makes the same URL say 暂扣."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from onelicense.flows.dispatcher import dispatch_once
from onelicense.licenses.pdf_signature import document_signer_kid
from onelicense.licenses.status import Operation
from onelicense.licenses.verify import qr_texts_in_file
from onelicense.services import licenses
from onelicense.store.db import session_scope
from onelicense.store.tables.license import License, LicensePermit
from onelicense.web.app import create_app
from tests.flows.conftest import decide_all, reviewer, status_of, submit

pytestmark = pytest.mark.usefixtures("flow_settings")


def test_approved_application_ends_with_a_license_whose_qr_opens_the_live_status(sample, flow_settings):
    app_id = submit(sample, holder_name="重庆两江悦来酒店有限公司")
    dispatch_once()  # the fan-out
    decide_all(app_id)
    assert dispatch_once() == 1  # the aggregation: license issued, its certificate queued
    assert status_of(app_id) == "issued"
    assert dispatch_once() == 1  # the certificate, rendered in the dispatcher's pool of processes
    with session_scope() as session:
        license_ = session.exec(select(License).where(License.application_id == app_id)).one()
        permits = session.exec(select(LicensePermit).where(LicensePermit.license_id == license_.id)).all()
    assert len(permits) == len(sample.form.permits)

    # the dispatcher noted which document key signed the file it wrote (the verify page's revocation notice)
    assert license_.document_key_id is not None
    assert license_.document_key_id == document_signer_kid(Path(license_.pdf_path).read_bytes())
    [url] = qr_texts_in_file(Path(license_.pdf_path))  # rendered page 1, decoded by zxing-cpp
    assert url.startswith(f"{flow_settings.public_base_url}/v/")
    path = url.removeprefix(flow_settings.public_base_url)

    client = TestClient(create_app())
    page = client.get(path)
    assert page.status_code == 200
    assert "有效" in page.text and "重庆两江悦来酒店有限公司" in page.text

    suspended = permits[0]
    with session_scope() as session:
        licenses.change_permit(
            session, reviewer(suspended.department_code), suspended.number, Operation.SUSPEND, reason="整改期间暂扣"
        )
    after = client.get(path, headers={"Accept": "application/json"}).json()
    assert "暂扣" in str(after)
    assert suspended.permit_name in client.get(path).text
    assert "暂扣" in client.get(path).text
