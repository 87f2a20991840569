"""证照标识 (GB/T 36904): the published sample validates, every single-character change fails, ours round-trip."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onelicense.licenses.errors import InvalidIdentifier
from onelicense.licenses.identifier import (
    CHECK_ALPHABET,
    IdentifierScheme,
    LicenseIdentifier,
    build_identifier,
    check_character,
    is_valid_identifier,
    parse_identifier,
)
from onelicense.licenses.numbering import format_number
from tests.licenses.conftest import IDENTIFIERS

# a 住建部 sample published with its check character (the issue that asked for identifiers quotes it)
PUBLISHED = "1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U"


def test_the_published_sample_validates_and_parses_into_its_parts() -> None:
    assert parse_identifier(PUBLISHED) == LicenseIdentifier(
        "11100000000013338W011", "11430000006122244L", "20230000403", 1
    )
    assert check_character("11100000000013338W011" "11430000006122244L" "20230000403" "001") == "U"


def test_every_single_character_substitution_of_the_published_sample_fails() -> None:
    changed = 0
    for position, original in enumerate(PUBLISHED):
        for replacement in CHECK_ALPHABET + ".x-":
            if replacement == original:
                continue
            altered = PUBLISHED[:position] + replacement + PUBLISHED[position + 1 :]
            assert not is_valid_identifier(altered), altered
            changed += 1
    assert changed > 70 * 36


def test_an_identifier_written_from_its_parts_is_the_published_one() -> None:
    assert build_identifier("11100000000013338W011", "11430000006122244L", "20230000403", 1) == PUBLISHED
    assert str(parse_identifier(PUBLISHED)) == PUBLISHED


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2.16.156.3005.2.A.11430000006122244L.1.001.0", "开头"),
        (PUBLISHED.replace(".001.", "."), "五段"),
        (PUBLISHED.replace(".001.", ".01."), "版本号"),
        (PUBLISHED.replace("11430000006122244L", "11430000006122244M"), "统一社会信用代码"),
        (PUBLISHED.replace("20230000403", "2023000040a"), "流水号"),
        (PUBLISHED[:-1] + "V", "校验位不符"),
    ],
)
def test_a_wrong_identifier_is_refused_with_its_reason(text: str, reason: str) -> None:
    with pytest.raises(InvalidIdentifier) as refused:
        parse_identifier(text)
    assert reason in str(refused.value)
    assert "证照标识" in str(refused.value)


@given(serial=st.integers(1, 10**7 - 1), year=st.integers(2000, 2099), edition=st.integers(1, 999))
def test_our_identifiers_validate_and_give_back_the_license_number_and_edition(
    serial: int, year: int, edition: int
) -> None:
    number = format_number("500107", year, serial)
    identifier = IDENTIFIERS.identifier(number, edition)
    assert is_valid_identifier(identifier)
    assert identifier.startswith(f"1.2.156.3005.2.{IDENTIFIERS.type_code}.{IDENTIFIERS.issuer_code}.{number}.")
    assert identifier.split(".")[-2] == f"{edition:03d}"
    assert IDENTIFIERS.license_number(identifier) == (number, edition)


def test_the_serial_is_the_license_number_so_two_licenses_never_share_an_identifier() -> None:
    first, second = format_number("500107", 2025, 1), format_number("500107", 2025, 2)
    assert IDENTIFIERS.identifier(first, 1) != IDENTIFIERS.identifier(second, 1)
    assert IDENTIFIERS.identifier(first, 1) != IDENTIFIERS.identifier(first, 2)  # each edition has its own


def test_an_identifier_of_another_authority_or_type_is_not_ours() -> None:
    with pytest.raises(InvalidIdentifier, match="不是本机关"):
        IDENTIFIERS.license_number(PUBLISHED)
    other = IdentifierScheme("11100000000013338W011", IDENTIFIERS.issuer_code)
    with pytest.raises(InvalidIdentifier, match="不是本机关"):
        IDENTIFIERS.license_number(other.identifier(format_number("500107", 2025, 1), 1))


def test_a_serial_that_is_no_license_number_is_refused_even_under_our_scheme() -> None:
    foreign = build_identifier(IDENTIFIERS.type_code, IDENTIFIERS.issuer_code, "20230000403", 1)
    with pytest.raises(InvalidIdentifier, match="流水号不是有效的许可证编号"):
        IDENTIFIERS.license_number(foreign)


@pytest.mark.parametrize("edition", [0, 1000])
def test_the_version_has_three_digits(edition: int) -> None:
    with pytest.raises(InvalidIdentifier, match="版本号"):
        IDENTIFIERS.identifier(format_number("500107", 2025, 1), edition)


def test_a_scheme_with_a_malformed_issuer_code_is_refused_at_once() -> None:
    with pytest.raises(InvalidIdentifier, match="颁发机构代码"):
        IdentifierScheme("11500107000000000P001", "11500107000000000Q")
    with pytest.raises(InvalidIdentifier, match="证照类型代码"):
        IdentifierScheme("type-1", "11500107000000000P")
