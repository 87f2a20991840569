"""The certificate's metadata as records systems read it: poppler's `pdfinfo` (Info dictionary, XMP with `-meta`) and
pypdf agree on title, author, subject, keywords, dates, language, tags and the 证照标识."""

from __future__ import annotations

import re
import subprocess
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree

import pypdf
import pytest

from onelicense.licenses.document import LicenseDocument
from onelicense.licenses.identifier import is_valid_identifier
from onelicense.licenses.pdf import render_pdf
from onelicense.licenses.pdf_metadata import NS, certificate_metadata
from tests.licenses.conftest import BASE_URL, TEMPLATES, sample_document

RENDERED_AT = datetime(2025, 3, 15, 1, 2, 3, tzinfo=UTC)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[LicenseDocument, Path]:
    document = sample_document()
    path = tmp_path_factory.mktemp("pdf") / "license.pdf"
    path.write_bytes(render_pdf(document, f"{BASE_URL}/v/123", TEMPLATES, modified=RENDERED_AT))
    return document, path


def pdfinfo(*args: str) -> str:
    return subprocess.run(["pdfinfo", *args], capture_output=True, text=True, check=True, timeout=60).stdout


def test_pdfinfo_reads_title_author_subject_keywords_dates_and_tags(
    certificate: tuple[LicenseDocument, Path],
) -> None:
    document, path = certificate
    info = dict(re.findall(r"^([A-Za-z ]+):\s+(.*)$", pdfinfo(str(path)), re.MULTILINE))
    assert info["Title"] == f"行业综合许可证 {document.number}"
    assert info["Author"] == "重庆高新区行政审批局"
    assert info["Subject"] == "渝北区老街坊便利店的行业综合许可证（便利店）"
    assert info["Keywords"] == f"{document.number}, {document.identifier}, {document.uscc}"
    assert info["CreationDate"] == "Fri Mar 14 09:30:00 2025 UTC"  # the edition's issue time
    assert info["ModDate"] == "Sat Mar 15 01:02:03 2025 UTC"  # the render
    assert info["Metadata Stream"] == "yes"
    assert info["Tagged"] == "yes"
    assert is_valid_identifier(document.identifier)


def test_the_xmp_packet_says_the_same_with_the_identifier_and_the_language(
    certificate: tuple[LicenseDocument, Path],
) -> None:
    document, path = certificate
    packet = pdfinfo("-meta", str(path))
    assert packet.startswith("<?xpacket begin=") and packet.rstrip().endswith('<?xpacket end="r"?>')
    root = ElementTree.fromstring(packet[packet.index("<x:xmpmeta") : packet.index("</x:xmpmeta>") + 12])

    def texts(path: str) -> list[str]:
        return [element.text or "" for element in root.iterfind(path, NS)]

    description = "rdf:RDF/rdf:Description/"
    assert texts(description + "dc:identifier") == [document.identifier]
    assert texts(description + "dc:title/rdf:Alt/rdf:li") == [f"行业综合许可证 {document.number}"]
    assert texts(description + "dc:creator/rdf:Seq/rdf:li") == ["重庆高新区行政审批局"]
    assert texts(description + "dc:subject/rdf:Bag/rdf:li") == [document.number, document.identifier, document.uscc]
    assert texts(description + "dc:language/rdf:Bag/rdf:li") == ["zh-CN"]
    assert texts(description + "pdf:Keywords") == [f"{document.number}, {document.identifier}, {document.uscc}"]
    assert texts(description + "xmp:CreateDate") == ["2025-03-14T17:30:00+08:00"]
    assert texts(description + "xmp:ModifyDate") == ["2025-03-15T09:02:03+08:00"]


def test_the_document_language_is_chinese_and_pypdf_reads_the_same_info(
    certificate: tuple[LicenseDocument, Path],
) -> None:
    document, path = certificate
    reader = pypdf.PdfReader(path)
    assert reader.trailer["/Root"]["/Lang"] == "zh-CN"
    assert reader.trailer["/Root"]["/MarkInfo"]["/Marked"] == True  # noqa: E712  (a PDF boolean object)
    meta = reader.metadata
    assert meta is not None
    assert meta.author == document.authority_name and meta.creator == "onelicense"
    assert meta.creation_date == datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
    xmp = reader.xmp_metadata
    assert xmp is not None and xmp.dc_identifier == document.identifier


def test_the_modification_date_is_never_before_the_edition_was_issued() -> None:
    document = replace(sample_document(), issued_at=datetime(2025, 3, 14, 9, 30, tzinfo=UTC))
    assert certificate_metadata(document, datetime(2020, 1, 1, tzinfo=UTC)).modified == document.issued_at
    assert certificate_metadata(document).modified == document.issued_at
