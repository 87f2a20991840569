"""The certificate's PAdES signature as other people's tools read it: poppler's pdfsig with our root in an NSS
database, OpenSSL's CMS verify over the signed byte ranges, pyHanko's command line (pyhanko-cli) and library; one
changed byte fails all of them;
the page looks exactly as before signing; qpdf finds the file clean and the QR code still verifies."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import ImageChops

from onelicense.licenses.document_keys import SigningFiles, load_certificate, local_signing_files
from onelicense.licenses.errors import DocumentModified, DocumentSignatureMissing, DocumentUntrusted
from onelicense.licenses.keys import load_keyset
from onelicense.licenses.pdf import render_pdf
from onelicense.licenses.pdf_signature import check_document_signature, document_signer_kid, sign_pdf
from onelicense.licenses.qr import verify_url
from onelicense.licenses.token import sign_token, verify_token
from onelicense.licenses.verify import qr_texts_in_file, render_pdf_page, token_from_text
from tests.licenses.conftest import BASE_URL, TEMPLATES, sample_document

AUTHORITY = "重庆高新区行政审批局"


@dataclass(frozen=True)
class Signed:
    folder: Path
    files: SigningFiles
    unsigned: Path
    signed: Path
    tampered: Path  # one byte changed inside the signed range
    url: str


def _flip_one_byte(pdf: bytes) -> bytes:
    """One letter of the uncompressed XMP packet (inside the first signed range) changed: the file still parses,
    only its digest no longer matches."""
    at = pdf.index(b"<xmp:CreatorTool>onelicense") + len(b"<xmp:CreatorTool>")
    assert at < int(re.search(rb"/ByteRange\s*\[\s*0\s+(\d+)", pdf).group(1))  # type: ignore[union-attr]
    changed = bytearray(pdf)
    changed[at] ^= 0x20  # o → O
    return bytes(changed)


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> Signed:
    tmp = tmp_path_factory.mktemp("signed")
    keyset = load_keyset(tmp / "keys")
    files = local_signing_files(tmp / "keys" / "document", AUTHORITY)
    document = sample_document()
    url = verify_url(BASE_URL, sign_token(document.signed_content(), keyset))
    pdf = render_pdf(document, url, TEMPLATES)
    (tmp / "unsigned.pdf").write_bytes(pdf)
    signed_pdf = sign_pdf(pdf, files)
    (tmp / "signed.pdf").write_bytes(signed_pdf)
    (tmp / "tampered.pdf").write_bytes(_flip_one_byte(signed_pdf))
    return Signed(tmp / "keys" / "document", files, tmp / "unsigned.pdf", tmp / "signed.pdf", tmp / "tampered.pdf", url)


@pytest.fixture(scope="module")
def nss_db(signed: Signed, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An NSS database that trusts our local root as a CA (what a relying party makes with certutil)."""
    folder = tmp_path_factory.mktemp("nss")
    subprocess.run(["certutil", "-N", "-d", f"sql:{folder}", "--empty-password"], check=True)
    subprocess.run(
        [
            "certutil",
            "-A",
            "-d",
            f"sql:{folder}",
            "-n",
            "onelicense-root",
            "-t",
            "CT,C,C",
            "-i",
            str(signed.files.chain[0]),
        ],
        check=True,
    )
    return folder


def _pdfsig(path: Path, nss: Path) -> str:
    done = subprocess.run(["pdfsig", "-nssdir", f"sql:{nss}", str(path)], capture_output=True, text=True)
    return done.stdout + done.stderr


def test_pdfsig_finds_the_signature_valid_its_certificate_trusted_and_the_whole_file_signed(
    signed: Signed, nss_db: Path
) -> None:
    report = _pdfsig(signed.signed, nss_db)
    assert "Signature is Valid." in report, report
    assert "Certificate is Trusted." in report, report
    assert "Total document signed" in report
    assert "SHA-256" in report and "ETSI.CAdES.detached" in report  # PAdES, not adbe.pkcs7.detached


def test_pdfsig_reports_a_digest_mismatch_for_one_changed_byte(signed: Signed, nss_db: Path) -> None:
    report = _pdfsig(signed.tampered, nss_db)
    assert "Digest Mismatch." in report, report
    assert "Signature is Valid." not in report


def test_pdfsig_does_not_trust_the_certificate_without_our_root(signed: Signed, tmp_path: Path) -> None:
    subprocess.run(["certutil", "-N", "-d", f"sql:{tmp_path}", "--empty-password"], check=True)
    report = _pdfsig(signed.signed, tmp_path)
    assert "Signature is Valid." in report
    assert "Certificate is Trusted." not in report


def _cms_and_content(pdf: bytes) -> tuple[bytes, bytes]:
    """The signature's CMS (DER, without the zero padding) and the bytes it signs, read as any tool would: the
    ByteRange and the Contents hex string of the signature dictionary."""
    ranges = re.search(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", pdf)
    assert ranges is not None
    start1, length1, start2, length2 = (int(x) for x in ranges.groups())
    contents = pdf[start1 + length1 : start2].strip()
    der = bytes.fromhex(contents.strip(b"<>").decode("ascii"))
    assert der[0] == 0x30 and der[1] & 0x80  # a SEQUENCE with a long-form length
    size = int.from_bytes(der[2 : 2 + (der[1] & 0x7F)], "big")
    return der[: 2 + (der[1] & 0x7F) + size], pdf[start1 : start1 + length1] + pdf[start2 : start2 + length2]


def _openssl_cms_verify(pdf: bytes, root: Path, tmp: Path) -> subprocess.CompletedProcess[str]:
    cms, content = _cms_and_content(pdf)
    (tmp / "signature.der").write_bytes(cms)
    (tmp / "content.bin").write_bytes(content)
    return subprocess.run(
        ["openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", str(tmp / "signature.der"),
         "-content", str(tmp / "content.bin"), "-CAfile", str(root), "-purpose", "any", "-out", "/dev/null"],
        capture_output=True, text=True,
    )  # fmt: skip


def test_openssl_cms_verify_accepts_the_signature_with_our_root_as_ca(signed: Signed, tmp_path: Path) -> None:
    done = _openssl_cms_verify(signed.signed.read_bytes(), signed.files.chain[0], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Verification successful" in done.stderr


def test_openssl_cms_verify_fails_for_one_changed_byte(signed: Signed, tmp_path: Path) -> None:
    done = _openssl_cms_verify(signed.tampered.read_bytes(), signed.files.chain[0], tmp_path)
    assert done.returncode != 0
    assert "Verification successful" not in done.stderr


def _pyhanko_validate(path: Path, root: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """pyHanko's own command line (the pyhanko-cli package), installed beside this interpreter, run from an empty
    folder so no pyhanko.yml of anyone else's is read."""
    pyhanko = Path(sys.executable).parent / "pyhanko"
    return subprocess.run(
        [str(pyhanko), "--no-plugins", "sign", "validate", "--trust", str(root), "--trust-replace", str(path)],
        capture_output=True, text=True, cwd=cwd,
    )  # fmt: skip


def test_pyhanko_cli_reports_the_signature_intact_and_trusted_against_our_root(signed: Signed, tmp_path: Path) -> None:
    done = _pyhanko_validate(signed.signed, signed.files.chain[0], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    [line] = done.stdout.splitlines()  # <field>:<signer certificate SHA-256>:<integrity>:<trust>,<modifications>
    field, _, integrity, judgement = line.split(":")
    assert (field, integrity) == ("OneLicenseSignature", "INTACT")
    assert judgement.split(",") == ["TRUSTED", "UNTOUCHED"]


def test_pyhanko_cli_fails_for_one_changed_byte_and_without_our_root(signed: Signed, tmp_path: Path) -> None:
    tampered = _pyhanko_validate(signed.tampered, signed.files.chain[0], tmp_path)
    assert tampered.returncode != 0
    assert tampered.stdout.strip().endswith(":INVALID"), tampered.stdout
    assert "INTACT" not in tampered.stdout and "TRUSTED" not in tampered.stdout
    other = local_signing_files(tmp_path / "other", AUTHORITY)  # someone else's root: intact, but not trusted
    untrusted = _pyhanko_validate(signed.signed, other.chain[0], tmp_path)
    assert untrusted.returncode != 0
    assert ":INTACT:UNTRUSTED" in untrusted.stdout, untrusted.stdout


def test_pyhanko_validation_is_intact_and_trusted_against_our_root(signed: Signed) -> None:
    root = load_certificate(signed.files.chain[0])
    signature = check_document_signature(signed.signed.read_bytes(), [root], {})
    assert signature.kid == signed.files.key.stem == document_signer_kid(signed.signed.read_bytes())
    assert "电子证照文档签名" in signature.signer and AUTHORITY in signature.signer


def test_our_validation_says_which_check_failed(signed: Signed, tmp_path: Path) -> None:
    root = load_certificate(signed.files.chain[0])
    with pytest.raises(DocumentModified, match="摘要不符"):
        check_document_signature(signed.tampered.read_bytes(), [root], {})
    with pytest.raises(DocumentSignatureMissing):
        check_document_signature(signed.unsigned.read_bytes(), [root], {})
    with pytest.raises(DocumentUntrusted, match="不受信任"):
        check_document_signature(signed.signed.read_bytes(), [], {})
    other = local_signing_files(tmp_path / "other", AUTHORITY)  # a root of someone else
    with pytest.raises(DocumentUntrusted):
        check_document_signature(signed.signed.read_bytes(), [load_certificate(other.chain[0])], {})
    appended = signed.signed.read_bytes() + b"\n% appended after signing\n"
    with pytest.raises(DocumentModified, match="追加"):
        check_document_signature(appended, [root], {})


def test_signing_changes_nothing_on_the_page(signed: Signed) -> None:
    before = render_pdf_page(signed.unsigned, dpi=100).convert("RGB")
    after = render_pdf_page(signed.signed, dpi=100).convert("RGB")
    assert before.size == after.size
    assert ImageChops.difference(before, after).getbbox() is None  # every pixel equal


def test_signed_file_passes_qpdf_check_and_its_qr_code_still_verifies(signed: Signed) -> None:
    done = subprocess.run(["qpdf", "--check", str(signed.signed)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "No syntax or stream encoding errors found" in done.stdout
    assert qr_texts_in_file(signed.signed) == [signed.url]
    keyset = load_keyset(signed.folder.parent)
    assert verify_token(token_from_text(signed.url), keyset).content == sample_document().signed_content()


def test_signing_keeps_the_metadata(signed: Signed) -> None:
    info = subprocess.run(["pdfinfo", str(signed.signed)], capture_output=True, text=True, check=True).stdout
    assert "行业综合许可证" in info and AUTHORITY in info
    xmp = subprocess.run(["pdfinfo", "-meta", str(signed.signed)], capture_output=True, text=True, check=True).stdout
    assert sample_document().identifier in xmp  # dc:identifier, the 证照标识
