"""Offline verification (离线核验): from a verify URL, a bare token, a PNG/JPEG of the QR code or the PDF
certificate to the signed content, using only the public keys. No server, no database.

A genuine token can be copied into a QR code that points anywhere: the signature says nothing about the web address
around it. `is_official_url` tells whether a verify URL is at the official verification site (same scheme, host and
port as the configured public base URL, and under its path), so the CLI never sends a user to a look-alike site for
the live status.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import SplitResult, urlsplit

import pypdfium2
import zxingcpp
from PIL import Image

from onelicense.licenses.errors import MalformedToken, NoQRCodeFound
from onelicense.licenses.keys import KeySet
from onelicense.licenses.qr import VERIFY_PATH
from onelicense.licenses.token import VerifiedToken, verify_token

PDF_RENDER_DPI = 200
_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff"}


def token_from_text(text: str) -> str:
    """The token in a verify URL (``…/v/<token>``) or the text itself when it is a bare token."""
    text = text.strip()
    if "://" in text or text.startswith(VERIFY_PATH):
        path = urlsplit(text).path
        if VERIFY_PATH not in path:
            raise MalformedToken("网址中没有 /v/ 核验路径")
        text = path.rsplit(VERIFY_PATH, 1)[1].strip("/")
    return text


_DEFAULT_PORTS = {"http": 80, "https": 443}


def is_url(text: str) -> bool:
    return "://" in text.strip()


def _origin(url: SplitResult) -> tuple[str, str, int | None]:
    scheme = url.scheme.lower()
    return scheme, (url.hostname or "").lower().rstrip("."), url.port or _DEFAULT_PORTS.get(scheme)


def is_official_url(text: str, public_base_url: str) -> bool:
    """Whether `text` is a verify URL of the official site: the origin (scheme, host, port) of `public_base_url` and
    a path under ``<its path>/v/``. User info (``https://official@elsewhere/``) is never official."""
    try:
        url, base = urlsplit(text.strip()), urlsplit(public_base_url.strip())
        if url.username is not None or url.password is not None or not url.hostname:
            return False
        same_origin = _origin(url) == _origin(base)
    except ValueError:  # an invalid port or IPv6 literal
        return False
    return same_origin and url.path.startswith(base.path.rstrip("/") + VERIFY_PATH)


def qr_texts_in_image(image: Image.Image) -> list[str]:
    return [
        r.text for r in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode))
    ]


def render_pdf_page(path: Path, page_index: int = 0, dpi: int = PDF_RENDER_DPI) -> Image.Image:
    pdf = pypdfium2.PdfDocument(str(path))
    try:
        image: Image.Image = pdf[page_index].render(scale=dpi / 72).to_pil()
        return image
    finally:
        pdf.close()


def qr_texts_in_file(path: Path) -> list[str]:
    """Texts of every QR code in an image file, or on page 1 of a PDF file."""
    if path.suffix.lower() == ".pdf":
        image = render_pdf_page(path)
    elif path.suffix.lower() in _IMAGE_SUFFIXES:
        image = Image.open(path)
    else:
        raise NoQRCodeFound(f"{path}（不支持的文件类型）")
    texts = qr_texts_in_image(image)
    if not texts:
        raise NoQRCodeFound(str(path))
    return texts


def verify_target(target: str, keyset: KeySet) -> tuple[str, VerifiedToken]:
    """Verify a URL, token, image or PDF; returns (the text that was checked, the verified token).

    Raises MalformedToken / UnknownKey / SignatureInvalid / NoQRCodeFound.
    """
    path = Path(target)
    text = qr_texts_in_file(path)[0] if path.suffix and path.is_file() else target
    return text, verify_token(token_from_text(text), keyset)
