"""The token format as docs/licenses.md states it, guarded: a decoder written here from the grammar alone (nothing of
licenses.codec or licenses.token) and PyNaCl's Ed25519 (not the `cryptography` package we sign with) decode and
verify the documented worked example and the tokens the service really issues, against the published key set."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey
from sqlmodel import Session

from onelicense.licenses.keys import load_keyset
from onelicense.licenses.token import SignedContent, SignedPermit, sign_token
from onelicense.review.roles import SYSTEM_ACTOR
from onelicense.services import licenses
from tests.licenses.conftest import approved_application, public_app_client  # noqa: F401

DOCS = Path(__file__).resolve().parents[2] / "docs" / "licenses.md"

# --- the decoder, from the grammar in the docs -------------------------------------------------------------------

# packed values: 0 padding, 1–10 the digits, 11–36 the letters, 37 _, 38 -, 39 .
PACKED = {0: ""} | {1 + i: str(i) for i in range(10)} | {11 + i: chr(ord("A") + i) for i in range(26)}
PACKED |= {37: "_", 38: "-", 39: "."}


@dataclass
class Decoded:
    kid: str
    issued_at: datetime
    number: str
    uscc: str
    industry: str
    holder: str
    permits: list[tuple[str, str, date | None]]  # code, number, valid until
    message: bytes
    signature: bytes


class Cursor:
    def __init__(self, data: bytes) -> None:
        self.data, self.at = data, 0

    def take(self, n: int) -> bytes:
        assert self.at + n <= len(self.data), "truncated"
        chunk, self.at = self.data[self.at : self.at + n], self.at + n
        return chunk

    def uint(self, size: int) -> int:
        return int.from_bytes(self.take(size), "big")

    def packed(self) -> str:
        length = self.uint(1)  # characters
        values: list[int] = []
        for _ in range((length + 2) // 3):
            group = self.uint(2)
            assert group < 64000
            values += [group // 1600, group // 40 % 40, group % 40]  # first character most significant
        assert 0 not in values[:length] and not any(values[length:]), "padding"
        return "".join(PACKED[v] for v in values[:length])

    def text(self) -> str:
        return self.take(self.uint(1)).decode("gb18030")  # length in bytes


def decode(token: str) -> Decoded:
    assert re.fullmatch(r"[1-9][0-9]{0,2999}", token)
    value = int(token)
    data = value.to_bytes((value.bit_length() + 7) // 8, "big")
    assert data[0] == 1 and len(data) >= 1 + 4 + 64
    message, signature = data[:-64], data[-64:]
    cursor = Cursor(message)
    cursor.take(1)
    kid = cursor.take(4).hex()
    issued_at = datetime.fromtimestamp(cursor.uint(4), UTC)
    number, uscc, industry, holder = cursor.packed(), cursor.packed(), cursor.packed(), cursor.text()
    permits = []
    for position in range(1, cursor.uint(1) + 1):
        code, days = cursor.packed(), cursor.uint(2)
        permits.append((code, f"{number}-{position:02d}", date(1970, 1, 1) + timedelta(days=days) if days else None))
    assert cursor.at == len(message), "the fields end where the signature begins"
    return Decoded(kid, issued_at, number, uscc, industry, holder, permits, message, signature)


def verify(decoded: Decoded, jwks: dict[str, Any]) -> None:
    """Steps 3–4 of 'What a verifier must do': the kid in `keys`, never in `revoked_keys`, then Ed25519."""
    assert decoded.kid not in {entry["kid"] for entry in jwks.get("revoked_keys", [])}
    [entry] = [entry for entry in jwks["keys"] if entry["kid"] == decoded.kid]
    raw = base64.urlsafe_b64decode(entry["x"] + "=" * (-len(entry["x"]) % 4))
    assert hashlib.sha256(raw).digest()[:4].hex() == decoded.kid
    VerifyKey(raw).verify(decoded.message, decoded.signature)  # raises BadSignatureError


# --- the worked example ------------------------------------------------------------------------------------------


def _worked_example() -> tuple[str, dict[str, Any]]:
    section = DOCS.read_text(encoding="utf-8").split("### Worked example", 1)[1]
    token = re.search(r"```text\n(\d+)\n```", section)
    key = re.search(r"`kid` `([0-9a-f]{8})`, public key\s+`\"x\": \"([A-Za-z0-9_-]{43})\"`", section)
    assert token and key, "the worked example's token and key, as docs/licenses.md prints them"
    return token.group(1), {"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": key.group(1), "x": key.group(2)}]}


def test_the_worked_example_in_the_docs_decodes_to_the_fields_its_table_lists() -> None:
    token, jwks = _worked_example()
    decoded = decode(token)
    verify(decoded, jwks)
    assert (decoded.kid, decoded.issued_at) == ("ef593da9", datetime(2025, 3, 14, 9, 30, tzinfo=UTC))
    assert (decoded.number, decoded.uscc, decoded.industry) == (
        "500107202500001231",
        "91500107MA5U3XYZ1K",
        "CONVENIENCE_STORE",
    )
    assert decoded.holder == "渝北区老街坊便利店"
    assert decoded.permits == [
        ("FOOD_BUSINESS", "500107202500001231-01", date(2030, 3, 13)),
        ("TOBACCO_RETAIL", "500107202500001231-02", None),
    ]
    assert len(token) == 379 and len(decoded.message) + 64 == 158
    forged = bytearray(decoded.message)
    forged[-3] ^= 1  # one bit of a permit code
    with pytest.raises(BadSignatureError):
        VerifyKey(base64.urlsafe_b64decode(jwks["keys"][0]["x"] + "=")).verify(bytes(forged), decoded.signature)


# --- tokens the issuer signs -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("holder", "codes", "until"),
    [
        ("𪚥记小吃店", (), None),  # no permit; a 4-byte character
        ("A", ("FOOD_BUSINESS",), date(2099, 12, 31)),  # 13 characters: the last group padded once
        ("重庆某某酒店管理有限公司😀", ("PUBLIC_HEALTH", "FIRE_SAFETY_CHECK", "X.1-2_3"), date(2026, 1, 1)),
        ("便利店", tuple(f"P{i:02d}" for i in range(1, 20)), None),  # 19 permits; 3 characters: no padding
    ],
)
def test_tokens_the_issuer_signs_decode_and_verify_from_the_grammar_alone(
    tmp_path: Path, holder: str, codes: tuple[str, ...], until: date | None
) -> None:
    keyset = load_keyset(tmp_path / "keys")
    number = "50010720260000042X"
    content = SignedContent(
        number=number,
        uscc="91500107MA5U3XYZ1K",
        holder_name=holder,
        industry_code="HOTEL",
        issued_at=datetime(2026, 12, 4, 12, 0, 1, tzinfo=UTC),
        permits=tuple(SignedPermit(code, f"{number}-{i:02d}", until) for i, code in enumerate(codes, start=1)),
    )
    decoded = decode(sign_token(content, keyset))
    verify(decoded, keyset.to_jwks())
    assert decoded.kid == keyset.active_kid and decoded.issued_at == content.issued_at
    assert (decoded.number, decoded.uscc, decoded.industry, decoded.holder) == (number, content.uscc, "HOTEL", holder)
    assert decoded.permits == [(p.code, p.number, p.valid_until) for p in content.permits]


@pytest.fixture
def client(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    yield from public_app_client(db_url, tmp_path, monkeypatch)


def test_an_issued_license_token_verifies_against_the_served_key_set(
    client: TestClient,
    session: Session,
    approved_application,  # type: ignore[no-untyped-def]  # noqa: F811
) -> None:
    issued = licenses.issue_license(session, SYSTEM_ACTOR, approved_application().id)
    decoded = decode(issued.token)
    verify(decoded, client.get("/.well-known/onelicense-keys.json").json())
    assert (decoded.number, decoded.uscc, decoded.holder) == (issued.number, issued.uscc, issued.holder_name)
    stored = issued.issued_at if issued.issued_at.tzinfo else issued.issued_at.replace(tzinfo=UTC)
    assert decoded.issued_at == stored.replace(microsecond=0)
    permits = licenses.permits_of(session, issued.id)
    assert decoded.permits == [(p.permit_code, p.number, p.valid_until) for p in permits]
