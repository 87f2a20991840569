"""The one Jinja2 environment builder: documents (commitment notice, composite opinion, license), public pages.

Autoescaping follows the file name: `*.html.j2` (and templates built from strings, which are HTML pages) are
escaped, `*.txt.j2` plain-text documents are not. One environment per folder and process, so compiled templates
are cached across renders."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import jinja2
from markupsafe import Markup

from onelicense.clock import PROVISIONAL_NOTE, china_time, cn_date, moved_notice
from onelicense.templates import FOLDER as PACKAGED_TEMPLATES


@functools.cache
def environment(folder: Path | None = None) -> jinja2.Environment:
    """The environment of `folder` (default: the templates shipped with the package)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder or PACKAGED_TEMPLATES),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2", "html"), default_for_string=True),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["cn_date"] = cn_date
    env.filters["beijing_time"] = _beijing_time
    env.globals["moved_clock"] = moved_notice  # the banner every page shows while the clock is moved
    env.filters["deadline"] = _deadline_html
    env.filters["deadline_text"] = _deadline_text
    env.filters["answer"] = plain_answer
    env.filters["links"] = linked_text
    return env


_URL = re.compile(r"https?://[^\s，。；）」』]+")


def linked_text(text: str) -> Markup:
    """Plain text (a notice) as HTML: escaped, with each web address a link a person can tap."""
    parts, last = [], 0
    for found in _URL.finditer(text):
        parts.append(Markup.escape(text[last : found.start()]))
        url = found.group(0)
        parts.append(Markup('<a href="{0}">{0}</a>').format(url))
        last = found.end()
    parts.append(Markup.escape(text[last:]))
    return Markup("").join(parts)


def plain_answer(value: object) -> str:
    """An answer as a person reads it: a whole number without ".0" (3200, not 3200.0), 是/否 for a yes/no."""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


Provisional = Callable[[date | None], bool]


def _deadline_text(day: date | None, provisional: Provisional | None = None) -> str:
    """A working-day deadline in a text: its date, and the note when it was counted past the calendar's years
    (`provisional`: the calendar's own test, passed in by whoever renders)."""
    if day is None:
        return "—"
    note = f"（{PROVISIONAL_NOTE}）" if provisional is not None and provisional(day) else ""
    return f"{cn_date(day)}{note}"


def _deadline_html(day: date | None, provisional: Provisional | None = None) -> Markup:
    """The same on a page: the note in a span of its own, so it can be styled and found."""
    if day is None:
        return Markup("—")
    if provisional is not None and provisional(day):
        return Markup('{}<span class="provisional">（{}）</span>').format(cn_date(day), PROVISIONAL_NOTE)
    return Markup("{}").format(cn_date(day))


def _beijing_time(value: datetime | None) -> str:
    if value is None:
        return "—"
    if value.tzinfo is None:  # stored times are UTC; a naive one can only be UTC
        value = value.replace(tzinfo=UTC)
    return china_time(value)
