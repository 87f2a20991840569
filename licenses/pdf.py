"""The PDF certificate (行业综合许可证): ``templates/license.typ`` drawn by Typst (PyPI ``typst``, a Rust engine),
at a fifth of the CPU WeasyPrint needed for the same page (docs/performance.md, "The certificate").

What the certificate prints goes to the template as JSON data (``sys.inputs``), never into its source, so no
user text can be read as markup. One compiler per process (the render pool's workers each keep theirs): it finds
its fonts once, and only in a folder of its own that holds the faces fontconfig resolves for the families the
certificate prints with (Debian's Noto CJK, 花园明朝 for rare characters: the files `licenses.fonts` checks names
against); system and bundled fonts are ignored, so a render is the same on every machine with those packages and
never fetches anything. Typst embeds the subsets it uses and tags the file; its Info dictionary and XMP packet are
replaced by ours (`licenses.pdf_metadata`, `licenses.pdf_objects`). `render_html_pdf` prints our other HTML
documents with WeasyPrint (`licenses.pdf_weasyprint`, which also keeps the certificate's previous renderer as the
reference of its look).
"""

from __future__ import annotations

import atexit
import functools
import json
import re
import shutil
import tempfile
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import typst

from onelicense.clock import cn_date
from onelicense.licenses.document import LicenseDocument
from onelicense.licenses.errors import CertificateFontMissing
from onelicense.licenses.font_subset import find_face
from onelicense.licenses.pdf_metadata import PdfMetadata, certificate_metadata, info_dictionary, xmp_packet
from onelicense.licenses.pdf_objects import indirect_object, join_objects, split_objects, stream_object
from onelicense.licenses.pdf_weasyprint import render_html_pdf
from onelicense.licenses.qr import build_qr
from onelicense.templates import FOLDER as PACKAGED_TEMPLATES

__all__ = ["TEMPLATE", "render_html_pdf", "render_pdf"]

TEMPLATE = "license.typ"
# (fontconfig pattern, family it must resolve to, required): the faces the template prints with, in its order
FACES = (
    ("Noto Sans CJK SC:regular", "Noto Sans CJK SC", True),
    ("Noto Serif CJK SC:bold", "Noto Serif CJK SC", True),
    ("HanaMinA", "HanaMinA", False),  # CJK Extension A; without them such names are refused at submission
    ("HanaMinB", "HanaMinB", False),  # CJK Extension B (𪚥)
)


@functools.cache
def font_folder() -> Path:
    """A folder of links to the certificate's font files, for the life of the process (Typst reads a face when
    it first prints with it)."""
    folder = Path(tempfile.mkdtemp(prefix="onelicense-fonts-"))
    atexit.register(shutil.rmtree, folder, True)
    for position, (pattern, family, required) in enumerate(FACES):
        face = find_face(pattern, family)
        if face is None:
            if required:
                raise CertificateFontMissing(family)
            continue
        (folder / f"{position}-{face.path.name}").symlink_to(face.path.resolve())
    return folder


@dataclass(frozen=True)
class _Compiler:
    typst: typst.Compiler
    template: Path
    # a compiler holds the inputs of its current compilation: renders on threads of one process take turns
    lock: threading.Lock


@functools.cache
def _compiler(templates: Path) -> _Compiler:
    fonts = typst.Fonts(include_system_fonts=False, include_embedded_fonts=False, font_paths=[str(font_folder())])
    compiler = typst.Compiler(root=str(templates), font_paths=fonts, ignore_system_fonts=True)
    return _Compiler(compiler, templates / TEMPLATE, threading.Lock())


def certificate_data(document: LicenseDocument, verify_url: str, meta: PdfMetadata) -> dict[str, Any]:
    """What the template prints, as plain JSON values (labels and fixed wording are the template's)."""
    modules = build_qr(verify_url).get_matrix()  # quiet zone included, as the printed 44 mm
    return {
        "meta": {"title": meta.title, "author": meta.author, "subject": meta.subject, "keywords": meta.keywords},
        "number": document.number,
        "identifier": document.identifier,
        "holder_name": document.holder_name,
        "uscc": document.uscc,
        "legal_representative": document.legal_representative,
        "business_address": document.business_address,
        "industry_name": document.industry_name,
        "qr": {"size": len(modules), "dark": "".join("1" if dark else "0" for row in modules for dark in row)},
        "permits": [
            {
                "name": permit.name,
                "number": permit.number,
                "department": permit.department_name,
                "issued": cn_date(permit.issued_on),
                "valid_until": cn_date(permit.valid_until) if permit.valid_until else None,
            }
            for permit in document.permits
        ],
        "authority": document.authority_name,
        "issued": cn_date(document.issued_at),
    }


def render_pdf(
    document: LicenseDocument, verify_url: str, templates_dir: Path | None = None, *, modified: datetime | None = None
) -> bytes:
    """PDF bytes of the certificate whose QR code holds `verify_url`; `modified` (the render time) is its ModDate."""
    meta = certificate_metadata(document, modified)
    compiler = _compiler(templates_dir or PACKAGED_TEMPLATES)
    inputs = {"certificate": json.dumps(certificate_data(document, verify_url, meta), ensure_ascii=False)}
    with compiler.lock:
        pdf = compiler.typst.compile(
            input=str(compiler.template), format="pdf", sys_inputs=inputs, timestamp=meta.created, pdf_tags=True
        )
    assert isinstance(pdf, bytes)  # one PDF, returned since no output path was given
    return with_metadata(pdf, meta)


_TYPST_CREATOR = re.compile(rb"/Creator\s*\((Typst[^()\\]*)\)")
_SUSPECTS = re.compile(rb"/Suspects\s+false")


def with_metadata(pdf: bytes, meta: PdfMetadata) -> bytes:
    """Typst's PDF with our Info dictionary and XMP packet in place of its own (Typst's version as the Producer;
    the XMP uncompressed, as ISO 32000 recommends, so a tool that does not parse PDF finds it). The catalog's
    ``/Suspects false`` goes too: it is the default, and poppler's pdfinfo calls it a syntax error."""
    parts = split_objects(pdf)
    root = parts.reference(parts.trailer, "Root")
    info = parts.reference(parts.trailer, "Info")
    metadata = parts.reference(parts.objects[root], "Metadata")
    creator = _TYPST_CREATOR.search(parts.objects[info])
    producer = creator.group(1).decode("ascii") if creator else "Typst"
    replaced = {
        info: indirect_object(info, info_dictionary(meta, producer)),
        metadata: stream_object(metadata, b"/Type /Metadata /Subtype /XML", xmp_packet(meta, producer)),
        root: _SUSPECTS.sub(b"", parts.objects[root]),
    }
    return join_objects(parts, replaced)
