"""Offline verification from every kind of input the CLI accepts, with no server."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from onelicense.licenses.errors import MalformedToken, NoQRCodeFound, SignatureInvalid
from onelicense.licenses.keys import KeySet
from onelicense.licenses.qr import qr_png, verify_url
from onelicense.licenses.token import sign_token
from onelicense.licenses.verify import is_official_url, token_from_text, verify_target
from tests.licenses.conftest import BASE_URL, sample_document


@pytest.fixture
def url(keyset: KeySet) -> str:
    return verify_url(BASE_URL, sign_token(sample_document().signed_content(), keyset))


def test_token_from_url_token_and_path() -> None:
    assert token_from_text("https://zw.example.gov.cn/v/12345?x=1#top") == "12345"
    assert token_from_text("  12345\n") == "12345"
    assert token_from_text("/v/12345") == "12345"
    with pytest.raises(MalformedToken):
        token_from_text("https://example.com/other/12345")


def test_verify_a_url_and_a_bare_token(keyset: KeySet, url: str) -> None:
    token = url.rsplit("/", 1)[1]
    assert verify_target(url, keyset)[1].content.number == sample_document().number
    assert verify_target(token, keyset)[1].content.number == sample_document().number


def test_verify_a_png_of_the_qr_code(keyset: KeySet, url: str, tmp_path: Path) -> None:
    path = tmp_path / "scan.png"
    path.write_bytes(qr_png(url))
    text, verified = verify_target(str(path), keyset)
    assert text == url
    assert verified.content.holder_name == sample_document().holder_name


def test_an_image_without_a_qr_code(keyset: KeySet, tmp_path: Path) -> None:
    path = tmp_path / "blank.png"
    Image.new("RGB", (200, 200), "white").save(path)
    with pytest.raises(NoQRCodeFound):
        verify_target(str(path), keyset)


def test_a_qr_code_with_an_altered_token_is_rejected(keyset: KeySet, url: str, tmp_path: Path) -> None:
    altered = url[:-3] + ("000" if url[-3:] != "000" else "111")
    path = tmp_path / "fake.png"
    path.write_bytes(qr_png(altered))
    with pytest.raises(SignatureInvalid):
        verify_target(str(path), keyset)


OFFICIAL = "https://zwfw.example.gov.cn/yyyz"


@pytest.mark.parametrize(
    "url",
    [
        "https://zwfw.example.gov.cn/yyyz/v/123",
        "https://ZWFW.example.gov.cn:443/yyyz/v/123?src=qr",
        "https://zwfw.example.gov.cn./yyyz/v/123",
    ],
)
def test_official_verify_urls(url: str) -> None:
    assert is_official_url(url, OFFICIAL)
    assert is_official_url(url, OFFICIAL + "/")


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example.cn/yyyz/v/123",  # another host
        "http://zwfw.example.gov.cn/yyyz/v/123",  # another scheme
        "https://zwfw.example.gov.cn:8443/yyyz/v/123",  # another port
        "https://zwfw.example.gov.cn.evil.cn/yyyz/v/123",  # look-alike host
        "https://zwfw.example.gov.cn@evil.cn/yyyz/v/123",  # user info hiding the real host
        "https://evil.cn#@zwfw.example.gov.cn/yyyz/v/123",
        "https://zwfw.example.gov.cn/other/v/123",  # outside the site's path
        "https://zwfw.example.gov.cn/yyyz-phish/v/123",
        "https://zwfw.example.gov.cn:99999/yyyz/v/123",  # invalid port
        "/yyyz/v/123",  # no origin at all
    ],
)
def test_other_addresses_are_not_official(url: str) -> None:
    assert not is_official_url(url, OFFICIAL)
