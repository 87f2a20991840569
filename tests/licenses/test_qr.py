"""The QR code stays small enough to print and scan: measured on realistic licenses, decoded by zxing-cpp."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image

from onelicense.licenses.keys import KeySet
from onelicense.licenses.qr import qr_png, qr_version, verify_url
from onelicense.licenses.token import sign_token
from tests.licenses.conftest import BASE_URL, sample_document


def _url(keyset: KeySet, holder: str, permits: tuple[str, ...]) -> str:
    return verify_url(BASE_URL, sign_token(sample_document(holder, permits).signed_content(), keyset))


@pytest.mark.parametrize(
    ("holder", "permits", "max_digits", "max_version"),
    [
        # a typical convenience store: 9-character name, 3 permits
        ("渝北区老街坊便利店", ("FOOD_BUSINESS", "TOBACCO_RETAIL", "LIQUOR_RETAIL"), 420, 10),
        # a company name of 15 characters with 3 permits: the largest that stays at version 10
        ("重庆两江新区悦来温德姆酒店有限公司"[:15], ("HOTEL_SPECIAL_TRADE", "PUBLIC_HEALTH", "FOOD_BUSINESS"), 450, 10),
        # 4 permits and a 19-character name: version 11, still 0.6 mm modules at the printed 42 mm
        (
            "重庆两江新区悦来温德姆酒店管理有限公司",
            ("HOTEL_SPECIAL_TRADE", "PUBLIC_HEALTH", "FIRE_SAFETY_CHECK", "FOOD_BUSINESS"),
            510,
            11,
        ),
    ],
)
def test_token_length_and_qr_version_at_error_correction_m(
    keyset: KeySet, holder: str, permits: tuple[str, ...], max_digits: int, max_version: int
) -> None:
    url = _url(keyset, holder, permits)
    token = url.rsplit("/", 1)[1]
    assert len(token) <= max_digits
    assert qr_version(url) <= max_version


def test_png_decodes_to_exactly_the_verify_url(keyset: KeySet) -> None:
    url = _url(keyset, "渝北区老街坊便利店", ("FOOD_BUSINESS", "TOBACCO_RETAIL"))
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr_png(url))))
    assert [r.text for r in results] == [url]
    assert results[0].format == zxingcpp.BarcodeFormat.QRCode
