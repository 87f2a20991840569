"""Replace whole objects of a PDF that has one classic cross-reference table and no object streams (what Typst
writes): the file is reassembled with the new objects in place and a new table, not updated incrementally, so no
earlier revision keeps the replaced values.

Why: the certificate's Info dictionary and XMP packet are ours (`licenses.pdf_metadata`), not the renderer's, and a
reader of the file must find only ours. Anything else (an xref stream, an earlier revision, an object stream) is
refused with `PdfLayoutUnsupported`: the caller's renderer changed and this needs a look, not a guess.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_STARTXREF = re.compile(rb"startxref\s+(\d+)\s+%%EOF\s*$")
_SUBSECTION = re.compile(rb"(\d+) (\d+)\r?\n")
_ENTRY = re.compile(rb"(\d{10}) (\d{5}) ([nf])\s{2}")
_REFERENCE = rb"/%s\s+(\d+)\s+0\s+R"


class PdfLayoutUnsupported(ValueError):
    """The PDF is not laid out as this module expects (one classic xref table, plain objects)."""


@dataclass(frozen=True)
class PdfObjects:
    """A PDF cut at its objects: the bytes before the first, each object's bytes by number, the trailer."""

    header: bytes
    objects: dict[int, bytes]  # number → "N 0 obj … endobj" and the whitespace after it, in file order
    trailer: bytes  # the trailer dictionary, "<< … >>"

    def reference(self, owner: bytes, key: str) -> int:
        """The object number `owner` (a dictionary's bytes) refers to under `key`."""
        found = re.search(_REFERENCE % key.encode(), owner)
        if found is None:
            raise PdfLayoutUnsupported(f"no /{key} reference")
        return int(found.group(1))


def split_objects(pdf: bytes) -> PdfObjects:
    """`pdf` cut at its objects, using its cross-reference table."""
    end = _STARTXREF.search(pdf[-64:])
    if end is None:
        raise PdfLayoutUnsupported("no startxref at the end")
    table_at = int(end.group(1))
    if not pdf.startswith(b"xref", table_at):
        raise PdfLayoutUnsupported("the cross-reference is not a classic table")
    position = table_at + 4
    while pdf[position : position + 1] in (b"\r", b"\n"):
        position += 1
    offsets: dict[int, int] = {}
    while (subsection := _SUBSECTION.match(pdf, position)) is not None:
        first, count = int(subsection.group(1)), int(subsection.group(2))
        position = subsection.end()
        for number in range(first, first + count):
            entry = _ENTRY.match(pdf, position)
            if entry is None:
                raise PdfLayoutUnsupported(f"unreadable cross-reference entry for object {number}")
            if entry.group(3) == b"n":
                offsets[number] = int(entry.group(1))
            position = entry.end()
    if not pdf.startswith(b"trailer", position):
        raise PdfLayoutUnsupported("no trailer after the table")
    trailer = pdf[position + len(b"trailer") : pdf.rindex(b"startxref")].strip()
    if b"/Prev" in trailer:
        raise PdfLayoutUnsupported("an incrementally updated file")
    order = sorted(offsets, key=offsets.__getitem__)
    bounds = [offsets[number] for number in order] + [table_at]
    objects = {number: pdf[bounds[i] : bounds[i + 1]] for i, number in enumerate(order)}
    for number, body in objects.items():
        if not body.startswith(b"%d 0 obj" % number) or b"/ObjStm" in body[:200]:
            raise PdfLayoutUnsupported(f"object {number} is not where the table says, or is an object stream")
    return PdfObjects(pdf[: bounds[0]], objects, trailer)


def indirect_object(number: int, body: bytes) -> bytes:
    """Object `number` holding `body` (a dictionary, or a dictionary and its stream), as written in a file."""
    return b"%d 0 obj\n%s\nendobj\n\n" % (number, body)


def stream_object(number: int, dictionary: bytes, data: bytes) -> bytes:
    """Object `number`: an uncompressed stream of `data`; `dictionary` holds its entries other than /Length."""
    return indirect_object(number, b"<<%s /Length %d>>\nstream\n%s\nendstream" % (dictionary, len(data), data))


def join_objects(parts: PdfObjects, replaced: Mapping[int, bytes]) -> bytes:
    """The PDF of `parts` with the objects in `replaced` (number → its `indirect_object` bytes) swapped in, and a
    cross-reference table that says where every object now is."""
    out = bytearray(parts.header)
    offsets: dict[int, int] = {}
    for number, body in parts.objects.items():
        offsets[number] = len(out)
        out += replaced.get(number, body)
    size = max(offsets) + 1
    table_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for number in range(1, size):
        out += b"%010d 00000 n \n" % offsets[number] if number in offsets else b"0000000000 00000 f \n"
    out += b"trailer\n%s\nstartxref\n%d\n%%%%EOF\n" % (parts.trailer, table_at)
    return bytes(out)
