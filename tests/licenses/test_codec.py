"""The token's byte codec: every value round-trips; malformed bytes are refused, never mis-read."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onelicense.licenses.codec import PACK_ALPHABET, Reader, Writer
from onelicense.licenses.errors import LicenseError, MalformedToken

codes = st.text(alphabet=PACK_ALPHABET[1:], max_size=255)
names = st.text(st.characters(exclude_categories=("Cs",)), max_size=60)


@given(codes)
def test_packed_codes_round_trip_in_two_thirds_of_the_bytes(value: str) -> None:
    out = Writer()
    out.packed(value)
    data = out.getvalue()
    assert len(data) == 1 + 2 * ((len(value) + 2) // 3)
    reader = Reader(data)
    assert reader.packed() == value
    reader.end()


@given(names)
def test_text_round_trips_through_gb18030(value: str) -> None:
    out = Writer()
    if len(value.encode("gb18030")) > 255:
        with pytest.raises(LicenseError):
            out.text(value)
        return
    out.text(value)
    assert Reader(out.getvalue()).text() == value


@given(st.dates(min_value=date(1970, 1, 2), max_value=date(2149, 6, 1)) | st.none())
def test_days_round_trip(value: date | None) -> None:
    out = Writer()
    out.day(value)
    assert Reader(out.getvalue()).day() == value


@pytest.mark.parametrize(
    "data",
    [
        b"\x03\xff\xff",  # a group value beyond 40³
        b"\x02\x00\x00",  # padding character inside the text
        b"\x01\x06\x41",  # non-zero padding after the text
        b"\x04\x00\x01",  # shorter than announced
    ],
)
def test_malformed_packed_values_are_refused(data: bytes) -> None:
    with pytest.raises(MalformedToken):
        Reader(data).packed()


def test_characters_outside_the_alphabet_cannot_be_packed() -> None:
    with pytest.raises(LicenseError):
        Writer().packed("abc")
