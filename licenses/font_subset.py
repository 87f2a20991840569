"""Smaller copies of the certificate's CJK fonts, cut once per process by HarfBuzz (hb-subset, the library
WeasyPrint itself subsets with) to the characters a certificate usually holds: ASCII, Latin-1 and Latin Extended-A,
the CJK and full-width punctuation, and every character of GB 2312 (its 6,763 汉字 and its symbols).

Why: WeasyPrint subsets each embedded font on every render, and cutting a 65,000-glyph Noto CJK face down to the few
hundred glyphs a certificate uses was a quarter of its CPU time; cutting an 8,000-glyph face is a tenth of that.
The glyphs, metrics and layout tables are the full font's, so the page looks the same. A character outside the set
is not lost: a certificate that has one prints from the full fonts (at the old cost; `licenses.pdf` decides).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import io
import subprocess
from dataclasses import dataclass
from pathlib import Path

from fontTools.ttLib import TTFont

# code points kept besides GB 2312: printable ASCII, Latin-1, Latin Extended-A, general punctuation, CJK symbols and
# punctuation, half- and full-width forms
RANGES = ((0x20, 0x7E), (0xA0, 0x17F), (0x2000, 0x206F), (0x3000, 0x303F), (0xFF00, 0xFFEF))


def gb2312_codepoints() -> frozenset[int]:
    """Every character GB 2312 encodes (rows 0xA1–0xF7, cells 0xA1–0xFE)."""
    found: set[int] = set()
    for row in range(0xA1, 0xF8):
        for cell in range(0xA1, 0xFF):
            try:
                found.add(ord(bytes((row, cell)).decode("gb2312")))
            except UnicodeDecodeError:
                continue
    return frozenset(found)


@functools.cache
def kept_codepoints() -> frozenset[int]:
    """The characters the small fonts keep (when the full font has them)."""
    ranged = {point for first, last in RANGES for point in range(first, last + 1)}
    return frozenset(ranged | gb2312_codepoints())


@dataclass(frozen=True)
class FontFace:
    """A face as fontconfig finds it: the file and, in a collection (.ttc), the face's index."""

    path: Path
    index: int


def find_face(pattern: str, family: str) -> FontFace | None:
    """The face fontconfig gives for `pattern` (e.g. "Noto Serif CJK SC:bold"), if it belongs to `family`."""
    try:
        found = subprocess.run(
            ["fc-match", "--format=%{file}\n%{index}\n%{family}", pattern], capture_output=True, text=True, timeout=20
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    path, index, families = [*found.split("\n", 2), "", ""][:3]
    if not path or family.lower() not in [f.strip().lower() for f in families.split(",")]:
        return None
    return FontFace(Path(path), int(index or 0))


class _HarfBuzz:
    """The few hb-subset calls needed, through ctypes (HarfBuzz ≥ 2.9 with its subset library, as WeasyPrint uses)."""

    def __init__(self, library: ctypes.CDLL) -> None:
        pointer = ctypes.c_void_p
        self.lib = library
        signatures: dict[str, tuple[type | None, list[type]]] = {
            "hb_blob_create_from_file_or_fail": (pointer, [ctypes.c_char_p]),
            "hb_face_create": (pointer, [pointer, ctypes.c_uint]),
            "hb_subset_input_create_or_fail": (pointer, []),
            "hb_subset_input_unicode_set": (pointer, [pointer]),
            "hb_set_add": (None, [pointer, ctypes.c_uint32]),
            "hb_subset_or_fail": (pointer, [pointer, pointer]),
            "hb_face_reference_blob": (pointer, [pointer]),
            "hb_blob_get_data": (pointer, [pointer, ctypes.POINTER(ctypes.c_uint)]),
            "hb_blob_destroy": (None, [pointer]),
            "hb_face_destroy": (None, [pointer]),
            "hb_subset_input_destroy": (None, [pointer]),
        }
        for name, (restype, argtypes) in signatures.items():
            function = getattr(library, name)
            function.restype = restype
            function.argtypes = argtypes

    def subset(self, face: FontFace, codepoints: frozenset[int]) -> bytes | None:
        """The face cut down to `codepoints` (HarfBuzz's defaults: layout tables kept and subset), or None."""
        lib = self.lib
        blob = lib.hb_blob_create_from_file_or_fail(str(face.path).encode())
        if not blob:
            return None
        hb_face = lib.hb_face_create(blob, face.index)
        plan = lib.hb_subset_input_create_or_fail()
        try:
            unicodes = lib.hb_subset_input_unicode_set(plan)
            for point in sorted(codepoints):
                lib.hb_set_add(unicodes, point)
            result = lib.hb_subset_or_fail(hb_face, plan)
            if not result:
                return None
            data_blob = lib.hb_face_reference_blob(result)
            length = ctypes.c_uint()
            data = lib.hb_blob_get_data(data_blob, ctypes.byref(length))
            out = ctypes.string_at(data, length.value) if data else None
            lib.hb_blob_destroy(data_blob)
            lib.hb_face_destroy(result)
            return out
        finally:
            lib.hb_subset_input_destroy(plan)
            lib.hb_face_destroy(hb_face)
            lib.hb_blob_destroy(blob)


@functools.cache
def _harfbuzz() -> _HarfBuzz | None:
    name = ctypes.util.find_library("harfbuzz-subset") or "libharfbuzz-subset.so.0"
    try:
        return _HarfBuzz(ctypes.CDLL(name))
    except (OSError, AttributeError):  # no subset library, or one too old for these calls
        return None


def subset_font(face: FontFace, codepoints: frozenset[int] | None = None) -> bytes | None:
    """`face` cut down to `codepoints` (default: kept_codepoints()); None when HarfBuzz's subsetter is missing."""
    harfbuzz = _harfbuzz()
    if harfbuzz is None:
        return None
    return harfbuzz.subset(face, kept_codepoints() if codepoints is None else codepoints)


def font_codepoints(data: bytes) -> frozenset[int]:
    """The code points the font in `data` has a glyph for (its cmap)."""
    best: dict[int, str] = TTFont(io.BytesIO(data), lazy=True)["cmap"].getBestCmap() or {}
    return frozenset(best)
