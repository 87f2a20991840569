from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from onelicense.licenses.codec import TEXT_ENCODING
from onelicense.licenses.errors import LicenseError, MalformedToken, SignatureInvalid, TokenError, UnknownKey
from onelicense.licenses.keys import KeySet, load_keyset, rotate_key
from onelicense.licenses.token import sign_token, verify_token
from tests.licenses.conftest import sample_document


def test_sign_and_verify_round_trip(keyset: KeySet) -> None:
    content = sample_document().signed_content()
    verified = verify_token(sign_token(content, keyset), keyset)
    assert verified.content == content
    assert verified.kid == keyset.active_kid
    assert verified.content.permits[1].number.endswith("-02")


def test_changing_any_single_digit_is_detected(keyset: KeySet) -> None:
    token = sign_token(sample_document().signed_content(), keyset)
    for position in range(len(token)):
        for step in (1, 5):
            digit = str((int(token[position]) + step) % 10)
            altered = token[:position] + digit + token[position + 1 :]
            with pytest.raises(TokenError):
                verify_token(altered, keyset)


def test_altered_content_signed_by_nobody_fails_the_signature(keyset: KeySet, tmp_path: Path) -> None:
    forger = load_keyset(tmp_path / "forger")
    forged = sign_token(replace(sample_document().signed_content(), holder_name="假冒商店"), forger)
    # same kid as the genuine key, forger's signature: what an attacker who copies the kid produces
    genuine_kid = bytes.fromhex(keyset.active_kid or "")
    value = int(forged).to_bytes((int(forged).bit_length() + 7) // 8, "big")
    relabelled = str(int.from_bytes(value[:1] + genuine_kid + value[5:], "big"))
    with pytest.raises(SignatureInvalid):
        verify_token(relabelled, keyset)


def test_a_key_not_in_the_set_is_reported_as_unknown(keyset: KeySet, tmp_path: Path) -> None:
    token = sign_token(sample_document().signed_content(), load_keyset(tmp_path / "other"))
    with pytest.raises(UnknownKey):
        verify_token(token, keyset)


@pytest.mark.parametrize(
    "garbage",
    ["", "abc", "0123", "12 34", "١٢٣", "9" * 5000, "1" * 3001, "1" * 80, str(2 * 256**100), "-5"],
)
def test_garbage_is_malformed(keyset: KeySet, garbage: str) -> None:
    with pytest.raises(MalformedToken):
        verify_token(garbage, keyset)


def test_rotation_keeps_old_tokens_valid_and_signs_new_ones_with_the_new_key(key_folder: Path) -> None:
    content = sample_document().signed_content()
    old_token = sign_token(content, load_keyset(key_folder))
    new_kid = rotate_key(key_folder)
    keyset = load_keyset(key_folder)
    assert verify_token(old_token, keyset).content == content
    assert verify_token(sign_token(content, keyset), keyset).kid == new_kid


def test_a_verify_only_keyset_from_the_published_jwks_verifies(keyset: KeySet) -> None:
    token = sign_token(sample_document().signed_content(), keyset)
    assert verify_token(token, KeySet.from_jwks(keyset.to_jwks())).content.uscc == "91500107MA5U3XYZ1K"


def test_the_token_carries_no_personal_data(keyset: KeySet) -> None:
    document = sample_document()
    value = int(sign_token(document.signed_content(), keyset))
    blob = value.to_bytes((value.bit_length() + 7) // 8, "big")
    for personal in (document.legal_representative, document.business_address):
        assert personal.encode(TEXT_ENCODING) not in blob
        assert personal.encode("utf-8") not in blob


def test_content_that_cannot_be_packed_is_refused_at_signing(keyset: KeySet) -> None:
    content = replace(sample_document().signed_content(), industry_code="便利店")
    with pytest.raises(LicenseError):
        sign_token(content, keyset)


def test_hostile_and_rare_characters_in_the_holder_name_survive(keyset: KeySet) -> None:
    name = "<script>alert('x')</script> 𠀀 & 龘 ·"
    content = replace(sample_document().signed_content(), holder_name=name)
    assert verify_token(sign_token(content, keyset), keyset).content.holder_name == name
