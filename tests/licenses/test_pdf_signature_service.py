"""Every certificate the service renders is signed (first issue and every edition, also in the dispatcher's pool of
processes) and the license records which document key signed its current PDF; `onelicense verify` checks the PDF's
signature and says which check failed; a revoked document key fails its PDFs until `license resign` renders them
anew; `license keys rotate|root` for the document keys."""

from __future__ import annotations

import multiprocessing
import pickle
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path

import pytest
import typer
from sqlmodel import Session, select
from typer.testing import CliRunner

from onelicense.cli import app as onelicense_app
from onelicense.cli.licenses import verify_command
from onelicense.licenses.document_keys import ROOT_CERTIFICATE, load_certificate, local_signing_files
from onelicense.licenses.pdf import render_pdf
from onelicense.licenses.pdf_signature import check_document_signature, document_signer_kid, sign_pdf
from onelicense.licenses.status import Operation
from onelicense.review.roles import SYSTEM_ACTOR
from onelicense.services import licenses
from onelicense.services.licenses import LicenseConfig
from onelicense.settings import get_settings
from onelicense.store.tables import AuditEvent
from onelicense.store.tables.license import License
from tests.licenses.conftest import ADMIN, make_approved_application

runner = CliRunner()
verify_app = typer.Typer()
verify_app.command()(verify_command)


@pytest.fixture
def config(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LicenseConfig]:
    monkeypatch.setenv("ONELICENSE_DATABASE_URL", db_url)
    monkeypatch.setenv("ONELICENSE_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield LicenseConfig.from_settings()
    get_settings.cache_clear()


@pytest.fixture
def issued(session: Session, config: LicenseConfig) -> License:
    return licenses.issue_license(session, SYSTEM_ACTOR, make_approved_application(session).id)


def _signer_of(path: Path, config: LicenseConfig) -> str:
    return check_document_signature(path.read_bytes(), config.trust_roots(), {}).kid


def test_the_first_issue_and_every_edition_are_signed_with_the_active_document_key(
    session: Session, config: LicenseConfig, issued: License
) -> None:
    active = config.signing_files().key.stem
    first = licenses.ensure_pdf(session, issued)
    assert _signer_of(first, config) == active
    editions = {first}
    for permit in licenses.permits_of(session, issued.id):  # each renewal is a new edition (换发)
        licenses.change_permit(
            session, ADMIN, permit.number, Operation.RENEW, reason="延续", valid_until=date(2035, 1, 1)
        )
        fresh = session.exec(select(License).where(License.number == issued.number)).one()
        session.refresh(fresh)
        edition_pdf = licenses.ensure_pdf(session, fresh)
        assert edition_pdf.name == f"{issued.number}-{fresh.edition}.pdf"
        assert _signer_of(edition_pdf, config) == active
        editions.add(edition_pdf)
    assert len(editions) == 3 and fresh.edition == 3


def _reloaded(session: Session, number: str) -> License:
    license_ = session.exec(select(License).where(License.number == number)).one()
    session.refresh(license_)
    return license_


def test_the_license_records_the_document_key_of_its_current_pdf_only(
    session: Session, config: LicenseConfig, issued: License
) -> None:
    first = licenses.ensure_pdf(session, issued)
    assert _reloaded(session, issued.number).document_key_id == document_signer_kid(first.read_bytes())
    late = licenses.certificate(session, issued)  # a render of the first edition, still running
    [permit, *_] = licenses.permits_of(session, issued.id)
    licenses.change_permit(session, ADMIN, permit.number, Operation.RENEW, reason="延续", valid_until=date(2035, 1, 1))
    reissued = _reloaded(session, issued.number)
    assert reissued.document_key_id is None  # the new edition's file is not written yet
    licenses.store_certificate(session, late, licenses.render_certificate(late))
    assert _reloaded(session, issued.number).document_key_id is None  # the old edition's file says nothing of it
    edition = licenses.ensure_pdf(session, reissued)
    assert _reloaded(session, issued.number).document_key_id == document_signer_kid(edition.read_bytes())


def test_the_render_pool_signs_from_a_pickled_certificate(
    session: Session, config: LicenseConfig, issued: License
) -> None:
    wanted = licenses.certificate(session, issued)
    assert pickle.loads(pickle.dumps(wanted)) == wanted  # paths, not key objects, cross the process boundary
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        pdf = pool.submit(licenses.render_certificate, wanted).result()
    assert check_document_signature(pdf, config.trust_roots(), {}).kid == wanted.signing.key.stem


def _verify(path: Path, *extra: str) -> tuple[int, str]:
    result = runner.invoke(verify_app, [str(path), "--offline", *extra])
    return result.exit_code, result.output


def test_onelicense_verify_says_which_check_of_the_pdf_signature_failed(
    session: Session, config: LicenseConfig, issued: License, tmp_path: Path
) -> None:
    pdf = licenses.ensure_pdf(session, issued)
    code, output = _verify(pdf)
    assert code == 0, output
    assert "PDF 文档签名有效" in output and "签名有效" in output

    changed = bytearray(pdf.read_bytes())
    at = changed.index(b"<xmp:CreatorTool>onelicense") + len(b"<xmp:CreatorTool>")
    changed[at] ^= 0x20
    (tmp_path / "changed.pdf").write_bytes(changed)
    code, output = _verify(tmp_path / "changed.pdf")
    assert code == 1 and "非真实有效的许可证" in output and "摘要不符" in output

    wanted = licenses.certificate(session, issued)
    unsigned = render_pdf(wanted.document, wanted.verify_url, wanted.templates_dir)
    (tmp_path / "unsigned.pdf").write_bytes(unsigned)
    code, output = _verify(tmp_path / "unsigned.pdf")
    assert code == 1 and "没有文档签名" in output

    stranger = local_signing_files(tmp_path / "stranger", "某仿冒机关")  # a look-alike chain of its own
    (tmp_path / "stranger.pdf").write_bytes(sign_pdf(unsigned, stranger))
    code, output = _verify(tmp_path / "stranger.pdf")
    assert code == 1 and "不受信任" in output
    code, output = _verify(tmp_path / "stranger.pdf", "--trust-root", str(stranger.chain[0]))
    assert code == 0, output  # a root the verifier chose to trust


def test_a_revoked_document_key_fails_its_pdfs_until_they_are_signed_anew(
    session: Session, config: LicenseConfig, issued: License
) -> None:
    pdf = licenses.ensure_pdf(session, issued)
    old = pdf.read_bytes()
    kid = document_signer_kid(old)
    assert kid is not None and len(kid) == 16

    replacement = licenses.revoke_signing_key(session, ADMIN, kid, reason="私钥外泄")
    assert replacement is not None and replacement != kid
    code, output = _verify(pdf)
    assert code == 1 and "文档签名密钥已停用" in output

    assert licenses.resign_licenses(session, ADMIN) == [issued.number]
    assert pdf.read_bytes() != old and document_signer_kid(pdf.read_bytes()) == replacement
    code, output = _verify(pdf)
    assert code == 0, output
    assert licenses.resign_licenses(session, ADMIN) == []  # nothing left signed by an old key
    actions = [e.action for e in session.exec(select(AuditEvent))]
    assert "license_document_key.revoke" in actions and "license.resign" in actions


def test_keys_rotate_makes_a_new_document_key_and_keys_root_exports_the_root(
    config: LicenseConfig, tmp_path: Path
) -> None:
    first = config.signing_files().key.stem
    result = runner.invoke(onelicense_app, ["license", "keys", "rotate"])
    assert result.exit_code == 0, result.output
    second = config.signing_files().key.stem
    assert second != first and f"新的文档签名密钥：{second}" in result.output
    out = tmp_path / "root.pem"
    assert runner.invoke(onelicense_app, ["license", "keys", "root", "--out", str(out)]).exit_code == 0
    root = config.document_keys_dir / ROOT_CERTIFICATE
    assert out.read_text() == root.read_text()
    load_certificate(config.signing_files().certificate).verify_directly_issued_by(load_certificate(out))
