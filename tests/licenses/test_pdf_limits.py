"""Every certificate within the field limits keeps its QR code on page 1 at full size, so the printed license always
verifies: generated worst cases (long names without spaces, wide Latin letters, accented letters, CJK and rare
characters of Extension B, the longest address, every permit of the widest industry), decoded from page 1."""

from __future__ import annotations

import tempfile
from dataclasses import replace
from datetime import date
from pathlib import Path

import pypdf
import pytest
import zxingcpp
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from onelicense.demo.sample import widest_permits
from onelicense.licenses.codec import text_problem
from onelicense.licenses.document import LicenseDocument, PermitEntry
from onelicense.licenses.fonts import unprintable
from onelicense.licenses.keys import KeySet, load_keyset
from onelicense.licenses.numbering import format_number
from onelicense.licenses.pdf import render_pdf
from onelicense.licenses.qr import qr_version, verify_url
from onelicense.licenses.token import sign_token
from onelicense.licenses.verify import PDF_RENDER_DPI, render_pdf_page
from tests.licenses.conftest import BASE_URL, sample_document

QR_MM = 44  # the template's QR image, quiet zone included (4 modules each side)
# wide and narrow Latin, accented Latin, common CJK, rare CJK of Extension B (4 bytes in GB 18030), digits, spaces
ALPHABET = "Wmé Ñ国龘𪚥0-"
names = st.text(st.sampled_from(ALPHABET), min_size=1, max_size=100).filter(
    lambda s: bool(s.strip()) and text_problem(s) is None
)
long_texts = st.text(st.sampled_from(ALPHABET), min_size=1, max_size=300).filter(lambda s: bool(s.strip()))


@pytest.fixture(scope="module")
def widest() -> tuple[str, tuple[PermitEntry, ...]]:
    """Every permit of the industry with the most: the longest permit table and the largest token."""
    number = format_number("500107", 2026, 9_999_999)
    permits = widest_permits(number, date(2026, 11, 30), valid_until=date(2031, 11, 29))
    return number, permits


@pytest.fixture(scope="module")
def signing() -> KeySet:
    return load_keyset(Path(tempfile.mkdtemp()) / "keys")


def _full_size_qr_on_page_1(document: LicenseDocument, keyset: KeySet) -> None:
    url = verify_url(BASE_URL, sign_token(document.signed_content(), keyset))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "license.pdf"
        path.write_bytes(render_pdf(document, url))
        image = render_pdf_page(path)
        pages = len(pypdf.PdfReader(path).pages)
    [found] = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode))
    assert found.text == url, f"page 1 of {pages} does not carry the genuine code"
    modules = 17 + 4 * qr_version(url)
    expected = QR_MM * modules / (modules + 8) / 25.4 * PDF_RENDER_DPI  # the symbol without its quiet zone, px
    width = found.position.top_right.x - found.position.top_left.x
    assert abs(width - expected) < 0.04 * expected, (width, expected)


@given(holder=names, representative=names.map(lambda s: s[:50]), address=long_texts)
@example(holder="W" * 100, representative="W" * 50, address="W" * 300)
@example(holder="é" * 100, representative="é" * 50, address="é" * 300)
@example(holder="𪚥" * 63, representative="𪚥" * 50, address="𪚥" * 300)
@example(holder="国" * 100, representative="龘" * 50, address="国" * 300)
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_page_one_decodes_at_full_size_for_any_texts_within_the_limits(
    holder: str, representative: str, address: str, widest, signing: KeySet
) -> None:
    number, permits = widest
    assert unprintable(holder + representative + address) == []  # the test's characters are all printable
    document = replace(
        sample_document(),
        number=number,
        holder_name=holder,
        legal_representative=representative,
        business_address=address,
        permits=permits,
    )
    _full_size_qr_on_page_1(document, signing)


def test_a_rare_character_prints_with_a_font_that_has_it(signing: KeySet, tmp_path: Path) -> None:
    document = replace(sample_document(), holder_name="重庆𪚥记火锅有限公司")
    url = verify_url(BASE_URL, sign_token(document.signed_content(), signing))
    path = tmp_path / "rare.pdf"
    path.write_bytes(render_pdf(document, url))
    fonts = []
    for font in pypdf.PdfReader(path).pages[0]["/Resources"]["/Font"].values():
        font = font.get_object()
        fonts += [str(d.get_object().get("/BaseFont", "")) for d in font.get("/DescendantFonts", [font])]
    assert any("HanaMin" in name for name in fonts), fonts  # 𪚥 (U+2A6A5) comes from 花园明朝, not a box
    assert "𪚥" in pypdf.PdfReader(path).pages[0].extract_text()
