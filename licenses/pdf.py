"""The PDF certificate: ``templates/license.html.j2`` rendered by WeasyPrint with an embedded CJK font.

Fonts come from fontconfig (Debian's fonts-noto-cjk: "Noto Sans CJK SC", "Noto Serif CJK SC"); WeasyPrint
embeds the subset used. The font configuration and the Jinja2 environment are kept per process so a warm render
does not rescan the fonts. The file is tagged (WeasyPrint's structure tree), its language is the template's
``lang``, and its metadata (Info dictionary and XMP) come from `licenses.pdf_metadata`.
"""

from __future__ import annotations

import base64
import functools
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import pydyf
from weasyprint import HTML
from weasyprint import __version__ as weasyprint_version
from weasyprint.text.fonts import FontConfiguration

from onelicense.licenses.document import LicenseDocument
from onelicense.licenses.pdf_metadata import PdfMetadata, certificate_metadata, xmp_packet
from onelicense.licenses.qr import qr_png
from onelicense.templates import FOLDER as PACKAGED_TEMPLATES
from onelicense.templating import environment

TEMPLATE = "license.html.j2"
# Pango and fontconfig under WeasyPrint are not thread-safe: concurrent renders in one process (the dispatcher
# aggregates several applications at once) corrupt GLib state ("g_queue_push_head_link" criticals), so renders
# in a process take turns. CPU-bound anyway: threads would not render faster in parallel under the GIL.
_RENDER_LOCK = threading.Lock()


@functools.cache
def _font_config() -> FontConfiguration:
    return FontConfiguration()


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


def render_pdf(
    document: LicenseDocument, verify_url: str, templates_dir: Path | None = None, *, modified: datetime | None = None
) -> bytes:
    """PDF bytes of the certificate whose QR code holds `verify_url`; `modified` (the render time) is its ModDate."""
    meta = certificate_metadata(document, modified)
    html = render_license_html(document, verify_url, templates_dir, meta)
    with _RENDER_LOCK:
        pdf: bytes | None = HTML(string=html, base_url=str(templates_dir or PACKAGED_TEMPLATES)).write_pdf(
            font_config=_font_config(), pdf_tags=True, finisher=functools.partial(_add_xmp, meta)
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
