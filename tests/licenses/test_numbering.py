from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onelicense.licenses.errors import InvalidLicenseNumber
from onelicense.licenses.numbering import (
    CHECK_ALPHABET,
    NUMBER_LENGTH,
    check_character,
    format_number,
    is_valid_number,
    parse_number,
    permit_number,
    split_permit_number,
)

numbers = st.builds(
    format_number,
    st.from_regex(r"\A[1-9][0-9]{5}\Z"),
    st.integers(2000, 2099),
    st.integers(1, 9_999_999),
)


def test_number_has_documented_layout() -> None:
    number = format_number("500107", 2025, 123)
    assert number == "500107202500001231"
    assert len(number) == NUMBER_LENGTH == 18
    parsed = parse_number(number)
    assert (parsed.region_code, parsed.year, parsed.serial) == ("500107", 2025, 123)
    assert str(parsed) == number


def test_check_character_is_the_identity_card_system() -> None:
    # GB 11643 sample number: same ISO 7064 MOD 11-2, check X
    assert check_character("11010519491231002") == "X"


@given(numbers)
def test_check_character_catches_every_single_character_substitution(number: str) -> None:
    for position in range(NUMBER_LENGTH):
        for replacement in CHECK_ALPHABET + "A":
            if replacement == number[position]:
                continue
            typo = number[:position] + replacement + number[position + 1 :]
            assert not is_valid_number(typo), typo


@given(numbers, st.integers(0, NUMBER_LENGTH - 2))
def test_check_character_catches_adjacent_transpositions(number: str, position: int) -> None:
    swapped = number[:position] + number[position + 1] + number[position] + number[position + 2 :]
    if swapped != number:
        assert not is_valid_number(swapped)


@given(numbers)
def test_every_formatted_number_parses_back(number: str) -> None:
    assert str(parse_number(number)) == number


@pytest.mark.parametrize(
    "bad", ["", "50010720250000123", "500107202500001231\n", "50010720250000123x", "5001072025000012 31", "ABC"]
)
def test_malformed_numbers_are_rejected_with_a_reason(bad: str) -> None:
    with pytest.raises(InvalidLicenseNumber) as info:
        parse_number(bad)
    assert info.value.reason


def test_serial_out_of_range_is_rejected() -> None:
    with pytest.raises(InvalidLicenseNumber):
        format_number("500107", 2025, 0)
    with pytest.raises(InvalidLicenseNumber):
        format_number("500107", 2025, 10_000_000)


def test_permit_numbers_follow_the_license_number() -> None:
    number = format_number("500107", 2025, 9)
    assert permit_number(number, 3) == f"{number}-03"
    assert split_permit_number(f"{number}-03") == (number, 3)
    with pytest.raises(InvalidLicenseNumber):
        split_permit_number(number)
