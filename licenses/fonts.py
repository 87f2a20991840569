"""Which characters the certificate can print: the glyphs of the fonts the license template names, as fontconfig
resolves them on this machine (Debian's Noto CJK for everyday text, 花园明朝 HanaMin A/B for rare characters of
CJK Extensions A and B such as 𪚥).

A name with a character that no font has would print as an empty box, and the printed certificate would no longer
say what the signed token says; such characters are refused when the application is submitted instead."""

from __future__ import annotations

import functools
import subprocess
import threading
from pathlib import Path

from fontTools.ttLib import TTCollection, TTFont

# the families the license template's CSS names, in its fallback order
PRINT_FAMILIES = ("Noto Sans CJK SC", "Noto Serif CJK SC", "HanaMinA", "HanaMinB")


def _font_files(family: str) -> list[Path]:
    """The file fontconfig uses for `family`, if it has that family (fc-match falls back to others silently)."""
    try:
        found = subprocess.run(
            ["fc-match", "--format=%{file}\n%{family}", family], capture_output=True, text=True, timeout=20
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    path, _, families = found.partition("\n")
    if family.lower() not in [f.strip().lower() for f in families.split(",")]:
        return []
    return [Path(path)]


_lock = threading.Lock()


def printable_codepoints() -> frozenset[int]:
    """Every code point some template font has a glyph for (read once per process, ~2 s: the server warms it at
    start; concurrent first callers wait for one read instead of each parsing the fonts)."""
    with _lock:
        return _read_codepoints()


@functools.cache
def _read_codepoints() -> frozenset[int]:
    points: set[int] = set()
    for family in PRINT_FAMILIES:
        for path in _font_files(family):
            if path.suffix.lower() == ".ttc":
                fonts = TTCollection(str(path), lazy=True).fonts
            else:
                fonts = [TTFont(str(path), lazy=True)]
            for font in fonts:
                best = font["cmap"].getBestCmap() or {}
                points.update(best)
    return frozenset(points)


def unprintable(text: str) -> list[str]:
    """The distinct characters of `text` the certificate cannot print (spaces are always fine), in order."""
    printable = printable_codepoints()
    missing: dict[str, None] = {}
    for char in text:
        if not char.isspace() and ord(char) not in printable:
            missing[char] = None
    return list(missing)
