"""Hypothesis strategies: valid values for each field type, and one sure corruption per type."""

from __future__ import annotations

import datetime as dt

from hypothesis import strategies as st

from onelicense.forms.identifiers import USCC_ALPHABET, USCC_AUTHORITIES, id_number_check_char, uscc_check_char
from onelicense.forms.merge import MergedForm
from onelicense.forms.model import FieldSpec, FieldType

# visible text only: the invisible categories are refused (controls, bidi and zero-width format characters ...)
_TEXT_CHARS = st.characters(blacklist_categories=("Cc", "Cs", "Cf", "Co", "Cn", "Zl", "Zp"))


def _uscc() -> st.SearchStrategy[str]:
    body = st.tuples(
        st.sampled_from(USCC_AUTHORITIES),
        st.text(alphabet=USCC_ALPHABET, min_size=1, max_size=1),
        st.text(alphabet=USCC_ALPHABET, min_size=6, max_size=6).filter(lambda region: region != "000000"),
        st.text(alphabet=USCC_ALPHABET, min_size=9, max_size=9),
    ).map("".join)
    return body.map(lambda s: s + uscc_check_char(s))


def _id_number() -> st.SearchStrategy[str]:
    body = st.tuples(
        st.integers(11, 91).map(str),
        st.text(alphabet="0123456789", min_size=4, max_size=4),
        st.dates(dt.date(1900, 1, 1), dt.date(2010, 12, 31)).map(lambda d: d.strftime("%Y%m%d")),
        st.text(alphabet="0123456789", min_size=3, max_size=3),
    ).map("".join)
    return body.map(lambda s: s + id_number_check_char(s))


def valid_value(spec: FieldSpec) -> st.SearchStrategy:
    lo = spec.min if spec.min is not None else -1e6
    hi = spec.max if spec.max is not None else 1e6
    match spec.type:
        case FieldType.TEXT | FieldType.ADDRESS:
            return st.text(_TEXT_CHARS, min_size=1, max_size=min(spec.length_cap, 60)).map(str.strip).filter(bool)
        case FieldType.INTEGER:
            return st.integers(int(lo), int(hi))
        case FieldType.DECIMAL:
            return (
                st.floats(lo, hi, allow_nan=False, allow_infinity=False)
                .map(lambda x: round(x, 2))
                .filter(lambda x: lo <= x <= hi)
            )
        case FieldType.DATE:
            return st.dates(dt.date(1990, 1, 1), dt.date(2099, 12, 31)).map(dt.date.isoformat)
        case FieldType.ENUM:
            return st.sampled_from(list(spec.choices or ()))
        case FieldType.BOOLEAN:
            return st.booleans()
        case FieldType.PHONE:
            return st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)
        case FieldType.USCC:
            return _uscc()
        case FieldType.ID_NUMBER:
            return _id_number()
        case FieldType.EMAIL:
            return st.from_regex(r"[a-z0-9]{1,12}@[a-z]{1,10}\.(cn|com)", fullmatch=True)
    raise AssertionError(spec.type)


def corrupt(spec: FieldSpec, value) -> st.SearchStrategy:
    """A value that certainly fails this field."""
    match spec.type:
        case FieldType.TEXT | FieldType.ADDRESS:
            return st.sampled_from([123, "", "字" * (spec.length_cap + 1), ["list"]])
        case FieldType.INTEGER:
            options = ["十", 1.5, True]
            if spec.max is not None:
                options.append(int(spec.max) + 1)
            if spec.min is not None:
                options.append(int(spec.min) - 1)
            return st.sampled_from(options)
        case FieldType.DECIMAL:
            return st.sampled_from(["abc", "NaN", [], *([spec.max * 2 + 1] if spec.max is not None else [])])
        case FieldType.DATE:
            return st.sampled_from(["2026-13-01", "01/02/2026", 20260101])
        case FieldType.ENUM:
            return st.sampled_from(["__不存在的选项__", 1])
        case FieldType.BOOLEAN:
            return st.sampled_from(["maybe", 2])
        case FieldType.PHONE:
            return st.sampled_from(["123", "2" * 11, 13812345678])
        case FieldType.USCC | FieldType.ID_NUMBER:
            alphabet = USCC_ALPHABET if spec.type == FieldType.USCC else "0123456789X"
            return st.sampled_from([c for c in alphabet if c != value[-1]]).map(lambda c: value[:-1] + c)
        case FieldType.EMAIL:
            return st.sampled_from(["no-at-sign", "a@b"])
    raise AssertionError(spec.type)


@st.composite
def valid_submission(draw, form: MergedForm) -> tuple[dict, dict]:
    answers = {}
    for merged in form.fields:
        if merged.key in form.answers_to_conditions:
            answers[merged.key] = form.answers_to_conditions[merged.key]
        elif merged.required or draw(st.booleans()):
            answers[merged.key] = draw(valid_value(merged.spec))
    materials = {m.code: f"upload/{m.code}.pdf" for m in form.materials if m.required_now}
    return answers, materials
