"""What the composite license prints and signs of an application's answers, and the limits those answers must
fit: checked when the application is submitted or amended, so an application every department approved can
always be issued and its certificate verified.

    holder_name           printed, signed into the QR token (at most 255 bytes in GB 18030)
    legal_representative  printed, shown masked on the public page
    business_address      printed, shown on the public page
Each must be printable by the certificate's fonts (licenses.fonts)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from onelicense.forms.errors import FieldError
from onelicense.licenses.codec import text_problem
from onelicense.licenses.fonts import unprintable
from onelicense.services import catalog as catalogs

SIGNED = ("holder_name",)
PRINTED = ("holder_name", "legal_representative", "business_address")


def certificate_problems(answers: Mapping[str, Any]) -> list[FieldError]:
    """Every printed or signed answer that the license could not hold faithfully, with the Chinese reason."""
    fields = catalogs.catalog().fields
    problems = []
    for key in PRINTED:
        value = answers.get(key)
        if not isinstance(value, str):
            continue
        label = fields[key].label if key in fields else key
        if key in SIGNED and (reason := text_problem(value)):
            problems.append(FieldError(key, label, reason))
        if missing := unprintable(value):
            shown = "、".join(f"「{c}」（U+{ord(c):04X}）" for c in missing[:5])
            problems.append(FieldError(key, label, f"含有许可证无法印制的字符：{shown}，请改用规范汉字或常用字符"))
    return problems
