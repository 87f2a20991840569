"""The certificate Typst draws (`licenses.pdf`) looks like the one WeasyPrint drew (`licenses.pdf_weasyprint`, kept
as the reference): every page of the widest certificate (two pages) and of a 3-permit one, for a GB 2312 name, a
Latin-1 one and one with 龘, drawn by pdfium at 144 dpi in grey and blurred by one pixel (anti-aliasing and sub-pixel
glyph placement differ between the engines, the look does not), differ by at most the bounds below.

The bounds, from the measured differences (2026-12-04: mean 0.45 / 0.39, share 0.25 % / 0.21 %, worst tile 16.7 /
14.0 on the first pages, page 2 of the widest 0.01) with headroom for a font or pdfium update, and well under what a
change of layout gives (one permit row fewer: worst tile 66). What is left is Typst's own typography: a full-width
opening bracket that starts a line is set half an em to the left (CLREQ, e.g. 「（二次供水）」 in a permit name), and
the QR code drawn from one pixel per module without smoothing. A single changed glyph is below what an image
comparison can tell from those: the text tests (test_pdf.py) check what is printed.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import pypdf
import pypdfium2
import pytest
from PIL import Image, ImageChops, ImageFilter, ImageStat

from onelicense.demo.sample import widest_permits
from onelicense.licenses.document import LicenseDocument
from onelicense.licenses.numbering import format_number
from onelicense.licenses.pdf import render_pdf
from onelicense.licenses.pdf_weasyprint import render_pdf_weasyprint
from tests.licenses.conftest import BASE_URL, TEMPLATES, sample_document

SCALE = 2  # 144 dpi: a hairline of the table is two pixels
MEAN_LIMIT = 1.0  # mean absolute difference of a page, grey levels 0–255
SHARE_LIMIT = 0.005  # share of a page's pixels that differ by more than DIFFERING grey levels
DIFFERING = 32
TILE = 48  # px, ~8.5 mm: the worst such square may differ by at most TILE_LIMIT on average
TILE_LIMIT = 24.0
URL = f"{BASE_URL}/v/{'1234567890' * 40}"
HOLDERS = ("渝北区老街坊便利店", "Café Ñoño «老街坊» 便利店", "重庆龘记火锅有限公司")


def widest_document(holder_name: str) -> LicenseDocument:
    """Every permit of the industry with the most (two pages), with `holder_name`."""
    number = format_number("500107", 2026, 17)
    permits = widest_permits(number, date(2026, 11, 26), valid_until=date(2031, 11, 25))
    return replace(sample_document(holder_name=holder_name), number=number, permits=permits)


def pages(pdf: bytes) -> list[Image.Image]:
    return [
        page.render(scale=SCALE).to_pil().convert("L").filter(ImageFilter.GaussianBlur(1))
        for page in pypdfium2.PdfDocument(pdf)
    ]


@dataclass(frozen=True)
class Difference:
    mean: float
    share: float
    worst_tile: float

    @classmethod
    def of(cls, page: Image.Image, reference: Image.Image) -> Difference:
        assert page.size == reference.size
        diff = ImageChops.difference(page, reference)
        counts = diff.histogram()
        total = sum(counts)
        mean = sum(level * count for level, count in enumerate(counts)) / total
        width, height = diff.size
        tiles = (
            ImageStat.Stat(diff.crop((left, top, left + TILE, top + TILE))).mean[0]
            for top in range(0, height, TILE // 2)
            for left in range(0, width, TILE // 2)
        )
        return cls(mean, sum(counts[DIFFERING + 1 :]) / total, max(tiles))

    @property
    def looks_the_same(self) -> bool:
        return self.mean <= MEAN_LIMIT and self.share <= SHARE_LIMIT and self.worst_tile <= TILE_LIMIT


@pytest.mark.parametrize("holder", HOLDERS)
@pytest.mark.parametrize("build", [widest_document, lambda holder: sample_document(holder_name=holder)])
def test_every_page_looks_like_the_weasyprint_certificate(holder: str, build) -> None:  # type: ignore[no-untyped-def]
    document = build(holder)
    now, reference = pages(render_pdf(document, URL, TEMPLATES)), pages(render_pdf_weasyprint(document, URL, TEMPLATES))
    assert len(now) == len(reference) == (2 if len(document.permits) > 3 else 1)
    for index, (page, expected) in enumerate(zip(now, reference, strict=True), start=1):
        difference = Difference.of(page, expected)
        assert difference.looks_the_same, f"page {index}: {difference}"


def test_the_comparison_sees_a_change_of_layout() -> None:
    """The bounds are not too loose to notice: a certificate with one permit fewer than the reference fails them."""
    document = sample_document()
    fewer = replace(document, permits=document.permits[:2])
    [page], [reference] = (
        pages(render_pdf(fewer, URL, TEMPLATES)),
        pages(render_pdf_weasyprint(document, URL, TEMPLATES)),
    )
    assert not Difference.of(page, reference).looks_the_same


@pytest.mark.parametrize("holder", ["重庆龘记火锅有限公司", "重庆𪚥记火锅有限公司"])
def test_characters_outside_gb2312_print_from_embedded_fonts(holder: str, tmp_path: Path) -> None:
    path = tmp_path / "rare.pdf"
    path.write_bytes(render_pdf(sample_document(holder_name=holder), URL, TEMPLATES))
    listing = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    fonts = [line.split() for line in listing.splitlines()[2:]]
    assert fonts and all(row[-5:-2] == ["yes", "yes", "yes"] for row in fonts), listing  # embedded, subset, unicode
    assert holder in "".join(pypdf.PdfReader(path).pages[0].extract_text().split())
    if "𪚥" in holder:  # CJK Extension B: from 花园明朝, not a box
        assert any(row[0].endswith("+HanaMinB") or row[0].endswith("+HanaMinA") for row in fonts), listing


def test_the_certificate_uses_only_its_own_fonts(tmp_path: Path) -> None:
    """System fonts are not looked at: the embedded faces are the Noto CJK ones the template names."""
    path = tmp_path / "license.pdf"
    path.write_bytes(render_pdf(widest_document(HOLDERS[1]), URL, TEMPLATES))
    listing = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    names = sorted({line.split()[0].split("+")[1].removesuffix("-Identity-H") for line in listing.splitlines()[2:]})
    assert names == ["NotoSansCJKsc-Regular", "NotoSerifCJKsc-Bold"], listing
