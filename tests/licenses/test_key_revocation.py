"""When a signing key leaks: revoke it (admin, audited), and every token it signed verifies as 签名密钥已停用 — on the
public page and in the offline verifier that reads the published key set — while one command signs every license
still in force again with the current key and renders its certificate anew."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import typer
import uvicorn
from fastapi.testclient import TestClient
from joserfc.errors import InvalidKeyIdError
from joserfc.jwk import KeySet as JoseKeySet
from sqlmodel import Session, select
from typer.testing import CliRunner

from onelicense.cli.licenses import verify_command
from onelicense.errors import Forbidden
from onelicense.licenses.errors import KeyRevoked
from onelicense.licenses.keys import KeySet, load_keyset, revoke_key, rotate_key
from onelicense.licenses.qr import verify_url
from onelicense.licenses.status import Operation
from onelicense.licenses.token import sign_token, verify_token
from onelicense.licenses.verify import qr_texts_in_file, token_from_text
from onelicense.review.roles import SYSTEM_ACTOR, Actor, Role
from onelicense.services import licenses
from onelicense.services.licenses import LicenseConfig
from onelicense.settings import get_settings
from onelicense.store.tables import AuditEvent
from onelicense.store.tables.license import License
from onelicense.web.app import create_app
from tests.licenses.conftest import ADMIN, make_approved_application, sample_document

runner = CliRunner()
verify_app = typer.Typer()
verify_app.command()(verify_command)


def test_a_revoked_key_fails_every_token_it_signed_and_is_published_as_revoked(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    keyset = load_keyset(folder)
    old = keyset.active_kid
    assert old is not None
    token = sign_token(sample_document().signed_content(), keyset)
    replacement = revoke_key(folder, old, "私钥文件外泄", datetime(2026, 11, 30, tzinfo=UTC))
    after = load_keyset(folder)
    assert replacement is not None and after.active_kid == replacement != old  # issuing goes on, with a new key
    with pytest.raises(KeyRevoked, match="签名密钥已停用"):
        verify_token(token, after)
    published = KeySet.from_jwks(after.to_jwks())  # what a verifier downloads
    assert published.revoked == {old: "2026-11-30T00:00:00+00:00"}
    with pytest.raises(KeyRevoked):
        verify_token(token, published)
    fresh = sign_token(sample_document().signed_content(), after)
    assert verify_token(fresh, published).kid == replacement


def test_a_revoked_key_is_not_in_the_standard_jwks_but_listed_apart_with_its_revocation_time(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    old = load_keyset(folder).active_kid
    assert old is not None
    token = sign_token(sample_document().signed_content(), load_keyset(folder))
    revoke_key(folder, old, "私钥文件外泄", datetime(2026, 11, 30, tzinfo=UTC))
    document = json.loads(json.dumps(load_keyset(folder).to_jwks()))  # as served
    assert old not in {key["kid"] for key in document["keys"]}
    assert [(key["kid"], key["revoked_at"]) for key in document["revoked_keys"]] == [(old, "2026-11-30T00:00:00+00:00")]
    # a standard library that looks the kid up no longer finds the leaked key
    standard = JoseKeySet.import_key_set({"keys": document["keys"]})
    with pytest.raises(InvalidKeyIdError):
        standard.get_by_kid(old)
    assert JoseKeySet.import_key_set(document).get_by_kid(load_keyset(folder).active_kid).kid  # extra members pass
    # our verifier still tells a revoked key (签名密钥已停用) from an unknown one
    with pytest.raises(KeyRevoked, match="签名密钥已停用"):
        verify_token(token, KeySet.from_jwks(document))


def test_a_key_set_copy_saved_before_revoked_keys_had_a_member_of_their_own_still_reads_as_revoked(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "keys"
    old = load_keyset(folder).active_kid
    assert old is not None
    token = sign_token(sample_document().signed_content(), load_keyset(folder))
    revoke_key(folder, old, "私钥文件外泄", datetime(2026, 11, 30, tzinfo=UTC))
    document = load_keyset(folder).to_jwks()
    document["keys"] += document.pop("revoked_keys")  # the earlier layout: one list, `status: revoked`
    published = KeySet.from_jwks(document)
    assert published.revoked == {old: "2026-11-30T00:00:00+00:00"}
    with pytest.raises(KeyRevoked):
        verify_token(token, published)


def test_the_published_keys_are_cached_a_minute_and_revalidated_with_their_etag(settings_env: LicenseConfig) -> None:
    load_keyset(settings_env.keys_dir)
    with TestClient(create_app()) as client:
        first = client.get("/.well-known/onelicense-keys.json")
        assert first.status_code == 200 and first.headers["cache-control"] == "public, max-age=60"
        etag = first.headers["etag"]
        unchanged = client.get("/.well-known/onelicense-keys.json", headers={"If-None-Match": f'W/"x", {etag}'})
        assert unchanged.status_code == 304 and unchanged.content == b"" and unchanged.headers["etag"] == etag
        rotate_key(settings_env.keys_dir)
        changed = client.get("/.well-known/onelicense-keys.json", headers={"If-None-Match": etag})
        assert changed.status_code == 200 and changed.headers["etag"] != etag
        assert len(changed.json()["keys"]) == 2


def test_revoking_a_retired_key_keeps_the_active_one(tmp_path: Path) -> None:
    folder = tmp_path / "keys"
    first = load_keyset(folder).active_kid
    second = rotate_key(folder)
    assert first is not None
    assert revoke_key(folder, first, "旧设备报废前未销毁", datetime.now(UTC)) is None
    assert load_keyset(folder).active_kid == second


@pytest.fixture
def settings_env(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LicenseConfig]:
    monkeypatch.setenv("ONELICENSE_DATABASE_URL", db_url)
    monkeypatch.setenv("ONELICENSE_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    yield LicenseConfig.from_settings()
    get_settings.cache_clear()


def test_only_an_admin_revokes_and_resigns_and_both_are_audited(session: Session, settings_env: LicenseConfig) -> None:
    issued = licenses.issue_license(session, SYSTEM_ACTOR, make_approved_application(session).id)
    withdrawn = licenses.issue_license(session, SYSTEM_ACTOR, make_approved_application(session).id)
    licenses.change_license(session, ADMIN, withdrawn.number, Operation.WITHDRAW, reason="申请人申请撤回")
    old_kid, old_token = issued.key_id, issued.token
    for who in (Actor("r", Role.REVIEWER, "SCJG"), Actor("a", Role.APPLICANT)):
        with pytest.raises(Forbidden):
            licenses.revoke_signing_key(session, who, old_kid, reason="x")
        with pytest.raises(Forbidden):
            licenses.resign_licenses(session, who)

    new_kid = licenses.revoke_signing_key(session, ADMIN, old_kid, reason="私钥外泄")
    assert new_kid and new_kid != old_kid
    resigned = licenses.resign_licenses(session, ADMIN)

    assert resigned == [issued.number]  # the withdrawn license is not in force: left as it is
    session.expire_all()
    fresh = session.exec(select(License).where(License.number == issued.number)).one()
    assert fresh.key_id == new_kid and fresh.token != old_token
    keyset = load_keyset(settings_env.keys_dir)
    assert verify_token(fresh.token, keyset).content.number == issued.number
    with pytest.raises(KeyRevoked):
        verify_token(old_token, keyset)
    # the certificate was rendered again: its QR code carries the new token
    [url] = qr_texts_in_file(Path(fresh.pdf_path or ""))
    assert token_from_text(url) == fresh.token
    actions = {e.action for e in session.exec(select(AuditEvent))}
    assert {"license_key.revoke", "license.resign"} <= actions


@pytest.fixture
def live_site(settings_env: LicenseConfig, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The public site on a real local port (what `onelicense verify` downloads the key set from)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    monkeypatch.setenv("ONELICENSE_PUBLIC_BASE_URL", base)
    get_settings.cache_clear()
    server = uvicorn.Server(uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    yield base
    server.should_exit = True
    thread.join(timeout=10)


def test_the_public_page_and_the_offline_verifier_refuse_a_revoked_key(
    session: Session, settings_env: LicenseConfig, live_site: str, tmp_path: Path
) -> None:
    issued = licenses.issue_license(session, SYSTEM_ACTOR, make_approved_application(session).id)
    stale_copy = tmp_path / "keys-copy.json"  # a verifier's copy, taken before the leak was known
    stale_copy.write_text(json.dumps(load_keyset(settings_env.keys_dir).to_jwks()))
    url = verify_url(live_site, issued.token)
    assert runner.invoke(verify_app, [url]).exit_code == 0

    licenses.revoke_signing_key(session, ADMIN, issued.key_id, reason="私钥外泄")

    page = httpx.get(url, headers={"Accept": "application/json"}, timeout=10)
    assert page.status_code == 400 and page.json()["reason"] == "key_revoked"
    assert "签名密钥已停用" in httpx.get(url, timeout=10).text
    online = runner.invoke(verify_app, [url, "--keys", str(stale_copy)])  # the published set wins over the copy
    assert online.exit_code == 1
    assert "签名密钥已停用" in online.output and "本地公钥副本已过期" in online.output
    offline = runner.invoke(verify_app, [url, "--keys", str(stale_copy), "--offline"])
    assert offline.exit_code == 0  # the stale copy cannot know: the verifier says so
    assert "本地公钥副本" in offline.output and "可能未列出" in offline.output


def test_the_verifier_online_shows_each_permits_effective_status(
    session: Session, settings_env: LicenseConfig, live_site: str
) -> None:
    """`onelicense verify` with the official site at hand prints the live status as the page does (issue 26)."""
    issued = licenses.issue_license(session, SYSTEM_ACTOR, make_approved_application(session).id)
    url = verify_url(live_site, issued.token)
    licenses.change_license(session, ADMIN, issued.number, Operation.SUSPEND, reason="依法暂扣")

    online = runner.invoke(verify_app, [url])
    assert online.exit_code == 0, online.output
    assert "官方核验网站的实时状态" in online.output
    permits = licenses.permits_of(session, issued.id)
    for permit in permits:
        row = [line for line in online.output.splitlines() if permit.number in line][-1]  # the live table
        assert "暂扣（随许可证暂扣）" in row and "有效" not in row
    offline = runner.invoke(verify_app, [url, "--offline"])
    assert offline.exit_code == 0 and "官方核验网站的实时状态" not in offline.output
    assert "离线核验只证明签名内容真实" in offline.output
