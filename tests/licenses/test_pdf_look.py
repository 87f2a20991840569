"""The certificate looks exactly as it did before its render was made cheaper: every page of the widest certificate,
drawn by pdfium, is pixel for pixel the page the previous render gives; and the small pre-cut fonts are the ones
used, with characters outside them still printed from the full font."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date
from pathlib import Path

import pypdf
import pypdfium2
import pytest
from fontTools.ttLib import TTFont
from PIL import Image, ImageChops
from weasyprint.html import UA_STYLESHEET

from onelicense.demo.sample import widest_permits
from onelicense.forms.catalog import get_catalog
from onelicense.licenses import pdf as pdf_module
from onelicense.licenses.document import LicenseDocument
from onelicense.licenses.font_subset import find_face, kept_codepoints, subset_font
from onelicense.licenses.numbering import format_number
from onelicense.licenses.pdf import render_license_html, render_pdf
from tests.licenses.conftest import BASE_URL, TEMPLATES, sample_document

SCALE = 2  # 144 dpi: a hairline of the table is two pixels, a one-point shift of any glyph shows
RARE = "龘"  # in Noto Sans CJK SC, not in GB 2312: outside the small font


def widest_document(holder_name: str) -> LicenseDocument:
    """Every permit of the industry with the most (two pages), with `holder_name`."""
    number = format_number("500107", 2026, 17)
    permits = widest_permits(number, date(2026, 11, 26), valid_until=date(2031, 11, 25))
    return replace(sample_document(holder_name=holder_name), number=number, permits=permits)


def pages(pdf: bytes) -> list[Image.Image]:
    document = pypdfium2.PdfDocument(pdf)
    return [page.render(scale=SCALE).to_pil().convert("RGB") for page in document]


def font_names(pdf: bytes, path: Path) -> list[str]:
    path.write_bytes(pdf)
    names = []
    for page in pypdf.PdfReader(path).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            names += [str(d.get_object()["/BaseFont"]) for d in font.get("/DescendantFonts", [font])]
    return names


@pytest.fixture(scope="module")
def previous_render():  # type: ignore[no-untyped-def]
    """The render as it was before: the full fonts only (the template's next family when the small ones are not
    declared) and WeasyPrint's own user-agent stylesheet; `render_pdf` is otherwise the same code."""

    def render(document: LicenseDocument, url: str) -> bytes:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(pdf_module, "_small_faces", lambda: None)
            patch.setattr(pdf_module, "_certificate_ua", lambda: [UA_STYLESHEET])
            return render_pdf(document, url, TEMPLATES)

    return render


@pytest.mark.parametrize(
    ("holder", "small_fonts"),
    [("渝北区老街坊便利店", True), ("Café Ñoño «老街坊» 便利店", True), (f"重庆{RARE}记火锅有限公司", False)],
)
def test_every_page_is_pixel_for_pixel_the_previous_render(  # type: ignore[no-untyped-def]
    holder: str, small_fonts: bool, previous_render, tmp_path: Path
) -> None:
    document = widest_document(holder)
    url = f"{BASE_URL}/v/{'1234567890' * 40}"
    now, before = render_pdf(document, url, TEMPLATES), previous_render(document, url)
    assert any("Subset" in name for name in font_names(now, tmp_path / "now.pdf")) == small_fonts
    assert not any("Subset" in name for name in font_names(before, tmp_path / "before.pdf"))
    now_pages, before_pages = pages(now), pages(before)
    assert len(now_pages) == len(before_pages) == 2
    for index, (page, reference) in enumerate(zip(now_pages, before_pages, strict=True), start=1):
        assert page.size == reference.size
        assert ImageChops.difference(page, reference).getbbox() is None, f"page {index} differs"


def test_a_character_outside_the_small_fonts_prints_the_certificate_from_the_full_fonts(tmp_path: Path) -> None:
    document = sample_document(holder_name=f"重庆{RARE}记火锅有限公司")
    pdf = render_pdf(document, f"{BASE_URL}/v/123", TEMPLATES)
    names = font_names(pdf, tmp_path / "rare.pdf")
    assert any(name.endswith("+Noto-Sans-CJK-SC") for name in names), names
    assert not any("Subset" in name for name in names), names
    assert document.holder_name in pypdf.PdfReader(tmp_path / "rare.pdf").pages[0].extract_text()


def test_the_small_fonts_hold_every_character_of_the_catalog_and_the_template() -> None:
    """So a certificate of catalog permits and departments never needs the slow full font for them."""
    catalog = get_catalog()
    texts = [p.name for p in catalog.permits.values()]
    texts += [d.name for d in catalog.departments.values()] + [i.name for i in catalog.industries.values()]
    texts.append(render_license_html(sample_document(), f"{BASE_URL}/v/123", TEMPLATES))
    needed = {ord(c) for text in texts for c in text if not c.isspace() and ord(c) >= 0x20}
    for pattern, family in (
        ("Noto Sans CJK SC:regular", "Noto Sans CJK SC"),
        ("Noto Serif CJK SC:bold", "Noto Serif CJK SC"),
    ):
        face = find_face(pattern, family)
        assert face is not None, pattern
        data = subset_font(face)
        assert data is not None
        cmap = TTFont(io.BytesIO(data))["cmap"].getBestCmap()
        assert needed - set(cmap) == set(), pattern
        assert RARE not in {chr(c) for c in cmap} and ord(RARE) not in kept_codepoints()
