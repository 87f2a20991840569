"""HTML to PDF with WeasyPrint: our HTML documents (the 示范文本), and the certificate as it was drawn before Typst
(`licenses.pdf` draws it now), kept as the reference its look is compared with (tests/licenses/test_pdf_look.py) and
as a candidate of the benchmark (bench/bench_licenses.py --engines).

The certificate: ``templates/license.html.j2`` with the fonts from fontconfig (Debian's fonts-noto-cjk: "Noto Sans
CJK SC", "Noto Serif CJK SC"), WeasyPrint embedding the subset used. The template names first smaller copies of the
two faces it uses (`licenses.font_subset`: GB 2312 and the usual punctuation, cut once per process and declared by
``@font-face``), which WeasyPrint subsets ten times faster; a certificate with a character they lack prints from the
full faces alone (the template names them next). The font configurations, those ``@font-face`` rules, a user-agent
stylesheet without rules the certificate never uses and the Jinja2 environment are kept per process so a warm render
does not rescan the fonts. The file is tagged (WeasyPrint's structure tree), its language is the template's
``lang``, and its metadata (Info dictionary and XMP) come from `licenses.pdf_metadata`.
"""

from __future__ import annotations

import base64
import functools
import re
import tempfile
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pydyf
from weasyprint import CSS, HTML
from weasyprint import __version__ as weasyprint_version
from weasyprint.html import UA, UA_COUNTER_STYLE, UA_STYLESHEET
from weasyprint.text.fonts import FontConfiguration

from onelicense.licenses.document import LicenseDocument
from onelicense.licenses.font_subset import find_face, font_codepoints, subset_font
from onelicense.licenses.pdf_metadata import PdfMetadata, certificate_metadata, xmp_packet
from onelicense.licenses.qr import qr_png
from onelicense.templates import FOLDER as PACKAGED_TEMPLATES
from onelicense.templating import environment

TEMPLATE = "license.html.j2"
# Pango and fontconfig under WeasyPrint are not thread-safe: concurrent renders in one process (the dispatcher
# aggregates several applications at once) corrupt GLib state ("g_queue_push_head_link" criticals), so renders
# in a process take turns. CPU-bound anyway: threads would not render faster in parallel under the GIL.
_RENDER_LOCK = threading.Lock()


# (family the template names first, weight, fontconfig pattern of the full face, its family): the faces the
# certificate prints with; the template gives the small family only to text of that weight
SUBSET_FACES = (
    ("Noto Sans CJK SC Subset", 400, "Noto Sans CJK SC:regular", "Noto Sans CJK SC"),
    ("Noto Serif CJK SC Subset", 700, "Noto Serif CJK SC:bold", "Noto Serif CJK SC"),
)


@functools.cache
def _font_config() -> FontConfiguration:
    """The system's fonts only: the full faces."""
    return FontConfiguration()


@dataclass(frozen=True)
class _SmallFaces:
    font_config: FontConfiguration  # the system's fonts and the small faces
    stylesheets: tuple[CSS, ...]  # their @font-face rules, parsed
    covers: frozenset[int]  # the code points every small face has


@functools.cache
def _small_faces() -> _SmallFaces | None:
    """The small faces in a font configuration of their own, parsed once: parsing the ``@font-face`` rules hands
    the font files to it, and it keeps its own copies (so the folder they were cut into can go). None when
    fontconfig or HarfBuzz's subsetter cannot make them all: the certificate then prints from the full faces."""
    config = FontConfiguration()
    rules: list[str] = []
    covers: frozenset[int] | None = None
    with tempfile.TemporaryDirectory(prefix="onelicense-fonts-") as folder:
        for family, weight, pattern, full_family in SUBSET_FACES:
            face = find_face(pattern, full_family)
            data = subset_font(face) if face else None
            if data is None:
                return None
            path = Path(folder) / f"{len(rules)}-{weight}.otf"
            path.write_bytes(data)
            rules.append(
                f'@font-face {{ font-family: "{family}"; font-weight: {weight}; src: url("{path.as_uri()}") }}'
            )
            covers = font_codepoints(data) if covers is None else covers & font_codepoints(data)
        stylesheet = CSS(string="\n".join(rules), font_config=config)
    return _SmallFaces(config, (stylesheet,), covers or frozenset())


def _printed_text(document: LicenseDocument) -> str:
    """Every text of `document` the certificate prints (the template's own text is all in the small faces)."""
    parts = [
        document.number,
        document.identifier,
        document.holder_name,
        document.uscc,
        document.legal_representative,
        document.business_address,
        document.industry_name,
        document.authority_name,
    ]
    for permit in document.permits:
        parts += [permit.name, permit.number, permit.department_name]
    return "".join(parts)


def _fonts_for(document: LicenseDocument) -> tuple[FontConfiguration, tuple[CSS, ...]]:
    """The small faces when they have every character `document` prints, else the full faces alone. Never both:
    a line whose characters come from two faces is laid out a fraction of a point apart from the same line in one
    face, and the certificate must look the same whichever way it was printed."""
    small = _small_faces()
    if small is None or any(ord(char) not in small.covers for char in _printed_text(document) if not char.isspace()):
        return _font_config(), ()
    return small.font_config, small.stylesheets


# WeasyPrint's user-agent rules for ::marker, footnotes and notes match every element: computing six pseudo-element
# styles per element was a third of the certificate's render. It has no list item, footnote or note, so nothing
# those rules style is ever drawn; its user-agent stylesheet is WeasyPrint's without them.
_POINTLESS_UA_RULES = re.compile(
    r"^::(?:marker|footnote-call|footnote-marker|note-call|note-marker|note-callback) \{[^}]*\}$", re.MULTILINE
)


@functools.cache
def _certificate_ua() -> list[CSS]:
    text, removed = _POINTLESS_UA_RULES.subn("", UA)
    if removed != 6:  # a WeasyPrint whose stylesheet changed: keep its own rather than guess
        return [UA_STYLESHEET]
    return [CSS(string=text, counter_style=UA_COUNTER_STYLE)]


class _CertificateHTML(HTML):  # type: ignore[misc]  # WeasyPrint publishes no types
    """The certificate's HTML, with the user-agent stylesheet above."""

    def _ua_stylesheets(self, forms: bool = False) -> list[CSS]:
        return _certificate_ua()


def render_license_html(
    document: LicenseDocument, verify_url: str, templates_dir: Path | None = None, meta: PdfMetadata | None = None
) -> str:
    qr = base64.b64encode(qr_png(verify_url, box_size=8)).decode("ascii")
    template = environment(templates_dir).get_template(TEMPLATE)
    return template.render(
        doc=document,
        meta=meta or certificate_metadata(document),
        qr_data_uri=f"data:image/png;base64,{qr}",
        verify_url=verify_url,
    )


def render_pdf_weasyprint(
    document: LicenseDocument, verify_url: str, templates_dir: Path | None = None, *, modified: datetime | None = None
) -> bytes:
    """PDF bytes of the certificate drawn by WeasyPrint, whose QR code holds `verify_url`; `modified` (the render
    time) is its ModDate."""
    meta = certificate_metadata(document, modified)
    html = render_license_html(document, verify_url, templates_dir, meta)
    with _RENDER_LOCK:
        base_url = str(templates_dir or PACKAGED_TEMPLATES)
        font_config, stylesheets = _fonts_for(document)
        pdf: bytes | None = _CertificateHTML(string=html, base_url=base_url).write_pdf(
            font_config=font_config,
            stylesheets=stylesheets,
            pdf_tags=True,
            finisher=functools.partial(_add_xmp, meta),
        )
    assert pdf is not None  # write_pdf returns bytes when no target is given
    return pdf


def _add_xmp(meta: PdfMetadata, _document: Any, pdf: Any) -> None:
    """WeasyPrint writes XMP only for PDF/A, /UA and /X; ours goes in uncompressed, as ISO 32000 recommends, so a
    tool that does not parse PDF finds it."""
    packet = xmp_packet(meta, f"WeasyPrint {weasyprint_version}")
    stream = pydyf.Stream([packet], {"Type": "/Metadata", "Subtype": "/XML"})
    pdf.add_object(stream)
    pdf.catalog["Metadata"] = stream.reference


def render_html_pdf(html: str, templates_dir: Path | None = None) -> bytes:
    """PDF bytes of an HTML document of ours (a 示范文本), with the same embedded CJK fonts as the certificate."""
    with _RENDER_LOCK:
        pdf: bytes | None = HTML(string=html, base_url=str(templates_dir or PACKAGED_TEMPLATES)).write_pdf(
            font_config=_font_config()
        )
    assert pdf is not None
    return pdf
