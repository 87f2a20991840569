"""The local document-signing keys: made once on first need (also by concurrent first users), owner-only files,
a proper chain (CA root, document-signing certificate), rotation and revocation."""

from __future__ import annotations

import multiprocessing
import stat
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID

from onelicense.licenses.document_keys import (
    DOCUMENT_SIGNING,
    active_document_kid,
    load_certificate,
    local_signing_files,
    revoke_document_key,
    revoked_document_keys,
    rotate_document_key,
)
from onelicense.licenses.errors import KeyStoreError

AUTHORITY = "重庆高新区行政审批局"


def _first_use(folder: str) -> str:
    return local_signing_files(Path(folder), AUTHORITY).key.stem


def test_first_use_makes_one_root_and_one_key_with_owner_only_files(tmp_path: Path) -> None:
    folder = tmp_path / "keys" / "document"
    files = local_signing_files(folder, AUTHORITY)
    assert local_signing_files(folder, AUTHORITY) == files  # idempotent
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == sorted(
        ["ACTIVE", "root.crt", "root.key", f"{files.key.stem}.crt", f"{files.key.stem}.key"]
    )
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for private in (files.key, folder / "root.key"):
        assert stat.S_IMODE(private.stat().st_mode) == 0o600


def test_concurrent_first_users_make_the_same_key(tmp_path: Path) -> None:
    folder = tmp_path / "document"
    with ProcessPoolExecutor(4, mp_context=multiprocessing.get_context("spawn")) as pool:
        kids = set(pool.map(_first_use, [str(folder)] * 8))
    assert len(kids) == 1
    assert len(list(folder.glob("*.key"))) == 2  # the root's and one document key


def test_the_chain_is_a_ca_root_and_a_document_signing_certificate(tmp_path: Path) -> None:
    files = local_signing_files(tmp_path, AUTHORITY)
    root, leaf = load_certificate(files.chain[0]), load_certificate(files.certificate)
    assert isinstance(leaf.public_key(), ec.EllipticCurvePublicKey)
    assert leaf.public_key().curve.name == "secp256r1"  # type: ignore[union-attr]
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.content_commitment and not usage.key_cert_sign
    purposes = list(leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    assert DOCUMENT_SIGNING in purposes and ExtendedKeyUsageOID.EMAIL_PROTECTION in purposes
    leaf.verify_directly_issued_by(root)
    assert root.issuer == root.subject and AUTHORITY in root.subject.rfc4514_string()


def test_a_key_readable_by_others_is_refused(tmp_path: Path) -> None:
    files = local_signing_files(tmp_path, AUTHORITY)
    files.key.chmod(0o644)
    with pytest.raises(KeyStoreError, match="权限过宽"):
        local_signing_files(tmp_path, AUTHORITY)


def test_rotation_issues_a_new_certificate_from_the_same_root(tmp_path: Path) -> None:
    first = local_signing_files(tmp_path, AUTHORITY)
    kid = rotate_document_key(tmp_path, AUTHORITY)
    second = local_signing_files(tmp_path, AUTHORITY)
    assert kid == second.key.stem != first.key.stem
    assert first.key.exists() and first.certificate.exists()  # what it signed still validates
    load_certificate(second.certificate).verify_directly_issued_by(load_certificate(first.chain[0]))


def test_revoking_the_active_key_makes_a_new_one_active(tmp_path: Path) -> None:
    first = local_signing_files(tmp_path, AUTHORITY).key.stem
    at = datetime(2026, 12, 1, 8, tzinfo=UTC)
    replacement = revoke_document_key(tmp_path, first, "私钥外泄", at, AUTHORITY)
    assert replacement is not None and replacement != first
    assert active_document_kid(tmp_path) == replacement
    assert revoked_document_keys(tmp_path) == {first: "2026-12-01T08:00:00+00:00"}
    assert revoke_document_key(tmp_path, first, "再次登记", at, AUTHORITY) is None  # not active any more
