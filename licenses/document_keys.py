"""The document-signing keys (文档签名密钥) that sign the certificate PDF as PAdES: ECDSA P-256 with an X.509 chain.

The embedded default is a locally generated chain in ``<data_dir>/keys/document/``: an issuing root (self-signed CA,
``root.crt`` with its key ``root.key``) and one document-signing certificate per key (``<kid>.crt`` and its key
``<kid>.key``: keyUsage digitalSignature + nonRepudiation, extended key usage id-kp-documentSigning and
emailProtection), ``ACTIVE``
naming the key that signs new PDFs and ``REVOKED`` (JSON: kid → when and why) the leaked ones. Private keys are
PKCS#8 PEM, mode 0600, in a 0700 folder; made on first need under a file lock, like the token keys
(`licenses.keys`). A deployment may configure a certificate a real CA issued instead (`SigningFiles`); its
revocations live in the same ``REVOKED`` file. The kid is the hex of the first 8 bytes of SHA-256 over the
certificate's SubjectPublicKeyInfo: twice as long as a token key's, so the two never look alike.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from onelicense.licenses.errors import KeyStoreError, UnknownKey
from onelicense.licenses.keys import locked, replace_file, revoked_json

KID_BYTES = 8
DOCUMENT_SIGNING = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")  # id-kp-documentSigning (RFC 9336)
# NSS (poppler's pdfsig, Firefox) checks a PDF signer as an S/MIME signer and refuses a certificate whose extended
# key usage lacks emailProtection ("Certificate type not approved for application"), so it carries both.
ROOT_CERTIFICATE = "root.crt"
_ROOT_KEY = "root.key"
_ACTIVE_FILE = "ACTIVE"
_REVOKED_FILE = "REVOKED"
# No time-stamp authority signs the signing time yet (PAdES B-B): a validator checks the chain at the time it
# validates, so the certificates outlive the licenses they sign by a wide margin.
_ROOT_YEARS = 30
_SIGNER_YEARS = 20
_NAME_BYTES = 64


@dataclass(frozen=True)
class SigningFiles:
    """Where a document-signing identity lives, as paths (picklable: the render pool loads them itself): the
    private key, its certificate, and the certificates above it (intermediates, the root)."""

    key: Path
    certificate: Path
    chain: tuple[Path, ...] = ()


def document_key_id(certificate: x509.Certificate) -> str:
    spki = certificate.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(spki).digest()[:KID_BYTES].hex()


def check_private_file(path: Path) -> None:
    """A private key readable by anyone but its owner is refused, as the token keys are."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError as exc:
        raise KeyStoreError(f"无法读取文档签名私钥 {path}：{exc}") from exc
    if mode & 0o077:
        raise KeyStoreError(f"文档签名私钥文件 {path} 权限过宽（{oct(mode)}），应为 0600")


def _write_new(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def _private_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _name(common_name: str, organization: str) -> x509.Name:
    while len(organization.encode()) > _NAME_BYTES:  # X.520 upper bound; an authority's long name is cut
        organization = organization[:-1]
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key_usage(**granted: bool) -> x509.KeyUsage:
    usages = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment", "key_agreement",
              "key_cert_sign", "crl_sign", "encipher_only", "decipher_only")  # fmt: skip
    return x509.KeyUsage(**{usage: granted.get(usage, False) for usage in usages})


def _make_root(folder: Path, authority: str, now: datetime) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name("电子证照签发根证书（本地）", authority)
    public = key.public_key()
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=365 * _ROOT_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            _key_usage(key_cert_sign=True, crl_sign=True),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_new(folder / _ROOT_KEY, _private_pem(key), 0o600)
    _write_new(folder / ROOT_CERTIFICATE, certificate.public_bytes(serialization.Encoding.PEM), 0o644)


def _load_root(folder: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    check_private_file(folder / _ROOT_KEY)
    try:
        certificate = x509.load_pem_x509_certificate((folder / ROOT_CERTIFICATE).read_bytes())
        key = serialization.load_pem_private_key((folder / _ROOT_KEY).read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise KeyStoreError(f"无法读取本地签发根证书 {folder}：{exc}") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise KeyStoreError(f"{folder / _ROOT_KEY} 不是 ECDSA 私钥")
    return certificate, key


def _make_signer(folder: Path, authority: str, now: datetime) -> str:
    """A new document-signing key and its certificate, issued by the local root; returns its kid."""
    root, root_key = _load_root(folder)
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key()
    issuer_ski = root.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    certificate = (
        x509.CertificateBuilder()
        .subject_name(_name("电子证照文档签名", authority))
        .issuer_name(root.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(min(now + timedelta(days=365 * _SIGNER_YEARS), root.not_valid_after_utc))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            _key_usage(digital_signature=True, content_commitment=True),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([DOCUMENT_SIGNING, ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuer_ski), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    kid = document_key_id(certificate)
    if (folder / f"{kid}.crt").exists():  # 64 bits of a fresh key's digest: never in practice
        raise KeyStoreError(f"文档签名密钥编号 {kid} 已存在")
    _write_new(folder / f"{kid}.key", _private_pem(key), 0o600)
    _write_new(folder / f"{kid}.crt", certificate.public_bytes(serialization.Encoding.PEM), 0o644)
    return kid


def _set_active(folder: Path, kid: str) -> None:
    replace_file(folder / _ACTIVE_FILE, kid + "\n")


def _files(folder: Path, kid: str) -> SigningFiles:
    return SigningFiles(folder / f"{kid}.key", folder / f"{kid}.crt", (folder / ROOT_CERTIFICATE,))


def active_document_kid(folder: Path) -> str | None:
    path = folder / _ACTIVE_FILE
    try:
        return path.read_text(encoding="ascii").strip() or None
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise KeyStoreError(f"无法读取文档签名密钥目录 {folder}：{exc}") from exc


def local_signing_files(folder: Path, authority: str) -> SigningFiles:
    """The active local document-signing identity in `folder`; on first need the root and a first key are made
    (under the folder's lock, so concurrent first users make one)."""
    kid = active_document_kid(folder)
    if kid is None:
        with locked(folder):
            kid = active_document_kid(folder)
            if kid is None:
                now = datetime.now(UTC)
                if not (folder / ROOT_CERTIFICATE).exists():
                    _make_root(folder, authority, now)
                kid = _make_signer(folder, authority, now)
                _set_active(folder, kid)
    if kid in revoked_document_keys(folder):
        raise KeyStoreError(f"当前文档签名密钥 {kid} 已停用，不能用于签名")
    files = _files(folder, kid)
    check_private_file(files.key)
    return files


def rotate_document_key(folder: Path, authority: str) -> str:
    """A new local document-signing key and certificate (from the same root) becomes active; the older ones stay,
    so every PDF they signed still validates."""
    local_signing_files(folder, authority)  # a first run makes the root and the first key: rotate to a second
    with locked(folder):
        kid = _make_signer(folder, authority, datetime.now(UTC))
        _set_active(folder, kid)
        return kid


def revoke_document_key(folder: Path, kid: str, reason: str, at: datetime, authority: str) -> str | None:
    """Mark a leaked document-signing key revoked: every PDF it signed stops verifying. A local key that was active
    is replaced by a new one first (returned), so rendering goes on. A configured certificate's key (no files here)
    is revoked by its kid as well; its replacement is the operator's to configure."""
    with locked(folder):
        path = folder / _REVOKED_FILE
        revoked = _read_revoked(folder)
        revoked[kid] = {"at": at.astimezone(UTC).isoformat(timespec="seconds"), "reason": reason}
        replacement = None
        if active_document_kid(folder) == kid:
            replacement = _make_signer(folder, authority, datetime.now(UTC))
        replace_file(path, revoked_json(revoked))
        if replacement is not None:
            _set_active(folder, replacement)
        return replacement


def _read_revoked(folder: Path) -> dict[str, dict[str, str]]:
    path = folder / _REVOKED_FILE
    try:
        revoked = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise KeyStoreError(f"无法读取文档签名密钥停用清单 {path}：{exc}") from exc
    if not isinstance(revoked, dict):
        raise KeyStoreError(f"文档签名密钥停用清单 {path} 格式错误")
    return revoked


def revoked_document_keys(folder: Path) -> Mapping[str, str]:
    """kid → when it was revoked (ISO 8601, UTC), for verifiers."""
    return {kid: str(entry.get("at", "")) for kid, entry in _read_revoked(folder).items()}


_revoked_seen: dict[Path, tuple[tuple[int, int, int], Mapping[str, str]]] = {}


def cached_revoked_document_keys(folder: Path) -> Mapping[str, str]:
    """`revoked_document_keys`, read again only when the ``REVOKED`` file changes: the public verify page asks on
    every request, and pays one ``stat`` (a revocation replaces the file, so its inode and mtime change)."""
    try:
        found = (folder / _REVOKED_FILE).stat()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise KeyStoreError(f"无法读取文档签名密钥停用清单 {folder / _REVOKED_FILE}：{exc}") from exc
    stamp = (found.st_ino, found.st_mtime_ns, found.st_size)
    seen = _revoked_seen.get(folder)
    if seen is not None and seen[0] == stamp:
        return seen[1]
    revoked = revoked_document_keys(folder)
    _revoked_seen[folder] = (stamp, revoked)
    return revoked


def known_document_kid(folder: Path, kid: str) -> bool:
    return (folder / f"{kid}.crt").exists()


def require_known(folder: Path, kid: str, configured: x509.Certificate | None = None) -> None:
    """UnknownKey unless `kid` is a local document key or the configured certificate's."""
    if known_document_kid(folder, kid) or (configured is not None and document_key_id(configured) == kid):
        return
    raise UnknownKey(kid)


def load_certificate(path: Path) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise KeyStoreError(f"无法读取证书 {path}：{exc}") from exc


def load_certificates(path: Path) -> list[x509.Certificate]:
    """Every certificate in a PEM file (a chain, a bundle of trust roots)."""
    try:
        return x509.load_pem_x509_certificates(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise KeyStoreError(f"无法读取证书 {path}：{exc}") from exc
