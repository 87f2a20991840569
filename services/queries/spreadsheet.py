"""CSV exports people open in a spreadsheet: UTF-8 with a byte-order mark (so Excel reads the Chinese), and no cell
that a spreadsheet would run as a formula (CSV injection)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(_neutralised(row) for row in rows)
    return "\ufeff".encode() + buffer.getvalue().encode("utf-8")


def _neutralised(row: Sequence[object]) -> list[object]:
    # a cell starting with = + - @ would run as a formula in a spreadsheet (CSV injection): prefix it with '
    return [f"'{v}" if isinstance(v, str) and v[:1] in ("=", "+", "-", "@") else v for v in row]
