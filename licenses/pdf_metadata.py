"""What the certificate PDF says about itself, for records systems: the Info dictionary and the XMP packet (Dublin
Core, with the 证照标识 as ``dc:identifier``), both built from one `PdfMetadata` so they cannot disagree. The
renderer's own go: `licenses.pdf` writes these in their place (WeasyPrint's reference render writes the Info
dictionary from the template's ``<meta>`` tags and this packet by a finisher)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from xml.etree.ElementTree import Element, SubElement, register_namespace, tostring

from onelicense.clock import CHINA_TIME
from onelicense.licenses.document import LicenseDocument

CREATOR_TOOL = "onelicense"
LANGUAGE = "zh-CN"
NS = {
    "x": "adobe:ns:meta/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "pdf": "http://ns.adobe.com/pdf/1.3/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
}
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
for _prefix, _uri in NS.items():
    register_namespace(_prefix, _uri)


@dataclass(frozen=True)
class PdfMetadata:
    title: str
    author: str  # the issuing authority
    subject: str
    keywords: tuple[str, ...]  # license number, 证照标识, the holder's USCC
    identifier: str  # 证照标识
    created: datetime  # when this edition was issued
    modified: datetime  # when this file was rendered
    language: str = LANGUAGE
    creator_tool: str = CREATOR_TOOL

    @property
    def created_w3c(self) -> str:
        return _w3c(self.created)

    @property
    def modified_w3c(self) -> str:
        return _w3c(self.modified)

    @property
    def keywords_text(self) -> str:
        """The keywords as one string: the Info dictionary's ``Keywords`` and XMP's ``pdf:Keywords`` (WeasyPrint
        joins the ``<meta name=keywords>`` parts with ", ")."""
        return ", ".join(self.keywords)


def _w3c(at: datetime) -> str:
    """W3C date-time in China time with its offset, to the second (what WeasyPrint turns into a PDF date)."""
    return at.astimezone(CHINA_TIME).isoformat(timespec="seconds")


def certificate_metadata(document: LicenseDocument, modified: datetime | None = None) -> PdfMetadata:
    """The metadata of `document`'s certificate; `modified` is when it is rendered (default: its issue time)."""
    return PdfMetadata(
        title=f"行业综合许可证 {document.number}",
        author=document.authority_name,
        subject=f"{document.holder_name}的行业综合许可证（{document.industry_name}）",
        keywords=(document.number, document.identifier, document.uscc),
        identifier=document.identifier,
        created=document.issued_at,
        modified=max(modified or document.issued_at, document.issued_at),
    )


def _pdf_text(text: str) -> bytes:
    """A PDF text string: UTF-16BE with its byte order mark, in hex (no escaping to get wrong)."""
    return b"<FEFF" + text.encode("utf-16-be").hex().upper().encode() + b">"


def _pdf_date(at: datetime) -> bytes:
    """A PDF date in China time with its offset (ISO 32000-1, 7.9.4)."""
    local = at.astimezone(CHINA_TIME)
    offset = local.strftime("%z")
    return f"(D:{local:%Y%m%d%H%M%S}{offset[0]}{offset[1:3]}'{offset[3:5]}')".encode()


def info_dictionary(meta: PdfMetadata, producer: str) -> bytes:
    """The Info dictionary of the certificate, in PDF syntax: the same values as `xmp_packet`."""
    entries = [
        (b"Title", _pdf_text(meta.title)),
        (b"Author", _pdf_text(meta.author)),
        (b"Subject", _pdf_text(meta.subject)),
        (b"Keywords", _pdf_text(meta.keywords_text)),
        (b"Creator", _pdf_text(meta.creator_tool)),
        (b"Producer", _pdf_text(producer)),
        (b"CreationDate", _pdf_date(meta.created)),
        (b"ModDate", _pdf_date(meta.modified)),
    ]
    return b"<<" + b"".join(b"/%s %s" % entry for entry in entries) + b">>"


def _tag(prefix: str, name: str) -> str:
    return f"{{{NS[prefix]}}}{name}"


def _container(parent: Element, name: str, kind: str, items: tuple[str, ...], lang: bool = False) -> None:
    holder = SubElement(SubElement(parent, _tag("dc", name)), _tag("rdf", kind))
    for item in items:
        li = SubElement(holder, _tag("rdf", "li"))
        if lang:
            li.set(_XML_LANG, "x-default")
        li.text = item


def xmp_packet(meta: PdfMetadata, producer: str) -> bytes:
    """The XMP metadata stream (ISO 16684-1) of the certificate: the same title, author, subject, keywords, dates
    and producer as the Info dictionary, plus the 证照标识 (dc:identifier) and the language (dc:language)."""
    root = Element(_tag("x", "xmpmeta"))
    rdf = SubElement(root, _tag("rdf", "RDF"))
    about = SubElement(rdf, _tag("rdf", "Description"), {_tag("rdf", "about"): ""})
    SubElement(about, _tag("dc", "format")).text = "application/pdf"
    _container(about, "title", "Alt", (meta.title,), lang=True)
    _container(about, "creator", "Seq", (meta.author,))
    _container(about, "description", "Alt", (meta.subject,), lang=True)
    _container(about, "subject", "Bag", meta.keywords)
    SubElement(about, _tag("dc", "identifier")).text = meta.identifier
    _container(about, "language", "Bag", (meta.language,))
    SubElement(about, _tag("pdf", "Keywords")).text = meta.keywords_text
    SubElement(about, _tag("pdf", "Producer")).text = producer
    SubElement(about, _tag("xmp", "CreatorTool")).text = meta.creator_tool
    SubElement(about, _tag("xmp", "CreateDate")).text = meta.created_w3c
    SubElement(about, _tag("xmp", "ModifyDate")).text = meta.modified_w3c
    SubElement(about, _tag("xmp", "MetadataDate")).text = meta.modified_w3c
    body = tostring(root, encoding="unicode")
    # the packet wrapper lets a tool that does not parse PDF find and update the metadata in place
    return f'<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n{body}\n<?xpacket end="r"?>'.encode()
