"""The certificate PDF's own signature: PAdES (ETSI EN 319 142, baseline B-B) with SHA-256 and ECDSA P-256, by
pyHanko, in an invisible signature field that leaves the page as it was; and its validation, which says which
check failed (no signature, modified, revoked key, untrusted chain).

P-256 rather than the QR token's Ed25519: poppler's ``pdfsig``, OpenSSL 3.0's ``cms -verify`` and Adobe validate it;
they do not validate Ed25519 in a PDF. Pure: key material comes in as paths or certificates, never from settings.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import io
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.pdf_embedded import async_validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from onelicense.licenses.document_keys import KID_BYTES, SigningFiles, check_private_file
from onelicense.licenses.errors import (
    DocumentKeyRevoked,
    DocumentModified,
    DocumentSignatureMissing,
    DocumentUntrusted,
    KeyStoreError,
)

FIELD_NAME = "OneLicenseSignature"
REASON = "发证机关签发的电子证照"
_T = TypeVar("_T")


def _run(coroutine: Coroutine[Any, Any, _T]) -> _T:
    """pyHanko works in coroutines: run one to the end, in a thread of its own when this one already runs a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


_signers: dict[SigningFiles, tuple[tuple[int, ...], signers.SimpleSigner]] = {}


def _signer(files: SigningFiles) -> signers.SimpleSigner:
    """The signer of `files`, kept per process (a render pool worker signs many PDFs) until a file changes."""
    check_private_file(files.key)
    paths = (files.key, files.certificate, *files.chain)
    try:
        stamp = tuple(path.stat().st_mtime_ns for path in paths)
    except OSError as exc:
        raise KeyStoreError(f"无法读取文档签名证书或私钥：{exc}") from exc
    hit = _signers.get(files)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    chain = [str(p) for p in files.chain] or None
    signer: signers.SimpleSigner | None = signers.SimpleSigner.load(  # type: ignore[no-untyped-call]
        str(files.key), str(files.certificate), ca_chain_files=chain
    )
    if signer is None:  # pyHanko logs why and returns nothing
        raise KeyStoreError(f"无法读取文档签名证书 {files.certificate} 或私钥 {files.key}")
    _signers[files] = (stamp, signer)
    return signer


def sign_pdf(pdf: bytes, files: SigningFiles) -> bytes:
    """`pdf` signed as PAdES in an incremental update: the original bytes stay as they were, the signature covers
    the whole file, an invisible field on page 1 holds it."""
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=REASON,
    )
    pdf_signer = signers.PdfSigner(meta, signer=_signer(files))
    out: io.BytesIO = _run(pdf_signer.async_sign_pdf(writer))
    return out.getvalue()


@dataclass(frozen=True)
class DocumentSignature:
    """A document signature that holds: who signed (subject, kid) and when (the signer's claimed time)."""

    kid: str
    signer: str
    signed_at: datetime | None


def _kid(certificate: asn1_x509.Certificate) -> str:
    spki: bytes = certificate["tbs_certificate"]["subject_public_key_info"].dump()
    return hashlib.sha256(spki).digest()[:KID_BYTES].hex()


def _asn1(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


def _signatures(pdf: bytes) -> list[Any]:
    try:
        found = list(PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures)
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        raise DocumentModified(f"文件结构无法解析（{type(exc).__name__}）") from exc
    if not found:
        raise DocumentSignatureMissing()
    return found


def document_signer_kid(pdf: bytes) -> str | None:
    """The kid of the key that signed `pdf` last, without validating anything; None without a signature."""
    try:
        signature = _signatures(pdf)[-1]
        return _kid(signature.signer_cert)
    except (DocumentSignatureMissing, DocumentModified, ValueError, KeyError):
        return None


def check_document_signature(
    pdf: bytes, trust_roots: Sequence[x509.Certificate], revoked: Mapping[str, str]
) -> DocumentSignature:
    """Validate every signature in `pdf` against `trust_roots` (no network: our chains carry no CRL or OCSP
    address) and the revoked kids; the first check that fails raises, in this order: DocumentSignatureMissing,
    DocumentModified (digest mismatch, a bad signature value, bytes added after signing), DocumentKeyRevoked,
    DocumentUntrusted."""
    context = ValidationContext(
        trust_roots=[_asn1(root) for root in trust_roots], allow_fetching=False, revocation_mode="soft-fail"
    )
    found = _signatures(pdf)
    for position, embedded in enumerate(found):
        try:
            status = _run(async_validate_pdf_signature(embedded, context))
        except (SignatureValidationError, PdfError, ValueError, KeyError, TypeError) as exc:
            raise DocumentModified(f"签名数据无法解析（{type(exc).__name__}）") from exc
        if not status.intact:
            raise DocumentModified("摘要不符（digest mismatch）")
        if not status.valid:
            raise DocumentModified("签名值无效")
        last = position == len(found) - 1
        if last and status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
            raise DocumentModified("签名未覆盖整个文件，签名后有内容被追加")
        kid = _kid(status.signing_cert)
        if kid in revoked:
            raise DocumentKeyRevoked(kid, revoked[kid])
        signer = status.signing_cert.subject.human_friendly
        if not status.trusted:
            problem = status.trust_problem_indic
            reason = f"证书链无法追溯到受信任的根证书（{problem.standard_name if problem else '未知原因'}）"
            raise DocumentUntrusted(signer, reason)
    return DocumentSignature(kid, signer, status.signer_reported_dt)
