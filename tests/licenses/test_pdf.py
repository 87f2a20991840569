"""The PDF certificate is read back as a user would: its text, its fonts, and the QR code on the rendered page."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pypdf
import pytest

from onelicense.forms.catalog import get_catalog
from onelicense.licenses.document import LicenseDocument, PermitEntry, numbered_permits
from onelicense.licenses.keys import KeySet
from onelicense.licenses.numbering import format_number
from onelicense.licenses.pdf import render_pdf
from onelicense.licenses.qr import verify_url
from onelicense.licenses.token import sign_token, verify_token
from onelicense.licenses.verify import qr_texts_in_file, token_from_text
from tests.licenses.conftest import BASE_URL, TEMPLATES, sample_document

HOSTILE = '<script>alert("x")</script>&amp;<img src=x onerror=alert(1)>'
# Typst markup and code: a heading, a call, a string end, an escape, math, strong, emphasis, a reference, a label
TYPST_MARKUP = '#panic("x") [*粗*] "引号" \\ $x^2$ _斜_ @ref <label> = 标题 // 注释 `raw` ~ --'


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[LicenseDocument, str, Path, KeySet]:
    from onelicense.licenses.keys import load_keyset

    keyset = load_keyset(tmp_path_factory.mktemp("keys"))
    document = sample_document()
    url = verify_url(BASE_URL, sign_token(document.signed_content(), keyset))
    path = tmp_path_factory.mktemp("pdf") / "license.pdf"
    path.write_bytes(render_pdf(document, url, TEMPLATES))
    return document, url, path, keyset


def test_text_layer_has_the_holder_the_uscc_and_every_permit(certificate) -> None:  # type: ignore[no-untyped-def]
    document, _, path, _ = certificate
    reader = pypdf.PdfReader(path)
    assert len(reader.pages) == 1
    text = "".join(reader.pages[0].extract_text().split())  # the title is letter-spaced
    printed = ("行业综合许可证", document.holder_name, document.uscc, document.number, document.identifier)
    for expected in (*printed, document.authority_name):
        assert expected in text
    for permit in document.permits:
        assert permit.number in text


def test_a_cjk_font_is_embedded(certificate) -> None:  # type: ignore[no-untyped-def]
    _, _, path, _ = certificate
    embedded = []
    for font in pypdf.PdfReader(path).pages[0]["/Resources"]["/Font"].values():
        font = font.get_object()
        for descendant in font.get("/DescendantFonts", [font]):
            descriptor = descendant.get_object().get("/FontDescriptor")
            if descriptor is None:
                continue
            descriptor = descriptor.get_object()
            if any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")):
                embedded.append(str(descriptor["/FontName"]))
    assert any("NotoSansCJKsc" in name for name in embedded), embedded  # the SC face, by its PostScript name


def test_the_qr_code_on_the_rendered_page_is_the_verify_url_and_its_token_verifies(certificate) -> None:  # type: ignore[no-untyped-def]
    document, url, path, keyset = certificate
    assert qr_texts_in_file(path) == [url]
    assert verify_token(token_from_text(url), keyset).content == document.signed_content()


@pytest.mark.parametrize("holder", [HOSTILE, TYPST_MARKUP])
def test_user_supplied_text_prints_as_written(holder: str, keyset: KeySet, tmp_path: Path) -> None:
    """What the certificate prints is data to the template, never markup or code: every character as typed."""
    document = replace(sample_document(holder_name=holder), legal_representative=holder, business_address=holder)
    url = verify_url(BASE_URL, sign_token(document.signed_content(), keyset))
    path = tmp_path / "hostile.pdf"
    path.write_bytes(render_pdf(document, url, TEMPLATES))
    text = "".join(pypdf.PdfReader(path).pages[0].extract_text().split())  # lines wrap at spaces
    assert text.count("".join(holder.split())) == 3, text
    assert qr_texts_in_file(path) == [url]


def test_a_license_with_every_hotel_permit_keeps_its_qr_code_on_page_1(keyset: KeySet, tmp_path: Path) -> None:
    catalog = get_catalog()
    number = format_number("500107", 2026, 17)
    permits = [
        PermitEntry(
            code=code,
            name=catalog.permits[code].name,
            department_code=catalog.permits[code].department,
            department_name=catalog.departments[catalog.permits[code].department].name,
            number="",
            issued_on=date(2026, 11, 26),
            valid_until=None,
        )
        for code in (p.permit for p in catalog.industries["HOTEL"].permits)
    ]
    document = replace(sample_document(), number=number, permits=numbered_permits(number, permits))
    url = verify_url(BASE_URL, sign_token(document.signed_content(), keyset))
    path = tmp_path / "hotel.pdf"
    path.write_bytes(render_pdf(document, url, TEMPLATES))
    assert qr_texts_in_file(path) == [url]  # page 1, however long the permit table
    text = "".join(page.extract_text() for page in pypdf.PdfReader(path).pages)
    assert all(p.number in text for p in document.permits)
