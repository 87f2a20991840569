"""The identity provider (统一身份认证 / 电子营业执照 login), over OpenID Connect: the adapter to the outside.

Authorization code flow with PKCE (S256), `state` and `nonce`: `begin` makes the request and what the browser
keeps until it comes back; `finish` exchanges the code at the token endpoint (client_secret_basic) and checks the
ID token — its signature against the provider's published keys, the issuer, the audience, the nonce, the times —
with joserfc. What the token asserts (the person, and the company it acts for in `ONELICENSE_OIDC_USCC_CLAIM`)
then goes through services.accounts.sign_in_with_idp."""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from onelicense.errors import Unauthenticated, Unavailable
from onelicense.settings import get_settings

_TIMEOUT = 10.0
_discovered: dict[str, tuple[float, dict[str, Any]]] = {}
REFUSED = "统一身份认证登录失败，请重新登录"


@dataclass(frozen=True)
class Pending:
    """What the browser keeps (in a short-lived cookie) between leaving for the provider and coming back."""

    state: str
    nonce: str
    verifier: str

    def cookie(self) -> str:
        return ".".join((self.state, self.nonce, self.verifier))

    @classmethod
    def from_cookie(cls, value: str | None) -> Pending | None:
        parts = (value or "").split(".")
        return cls(*parts) if len(parts) == 3 and all(parts) else None


@dataclass(frozen=True)
class Asserted:
    issuer: str
    subject: str
    claims: dict[str, Any]


def enabled() -> bool:
    settings = get_settings()
    return bool(settings.oidc_issuer and settings.oidc_client_id)


def begin(redirect_uri: str) -> tuple[str, Pending]:
    """The provider's authorization URL to send the browser to, and what to keep until it comes back."""
    settings = get_settings()
    pending = Pending(secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48))
    challenge = base64.urlsafe_b64encode(hashlib.sha256(pending.verifier.encode()).digest()).rstrip(b"=").decode()
    query = {
        "response_type": "code",
        "client_id": settings.oidc_client_id,
        "redirect_uri": redirect_uri,
        "scope": settings.oidc_scopes,
        "state": pending.state,
        "nonce": pending.nonce,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    return f"{_metadata()['authorization_endpoint']}?{urlencode(query)}", pending


def finish(pending: Pending | None, *, state: str, code: str, redirect_uri: str) -> Asserted:
    """The code the provider sent back, exchanged and its ID token checked; Unauthenticated if anything is off."""
    settings = get_settings()
    if pending is None or not code or not secrets.compare_digest(pending.state, state or ""):
        raise Unauthenticated(REFUSED)
    metadata = _metadata()
    try:
        response = httpx.post(
            metadata["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": pending.verifier,
            },
            auth=(str(settings.oidc_client_id), str(settings.oidc_client_secret or "")),
            timeout=_TIMEOUT,
        )
    except httpx.HTTPError as exc:
        raise Unavailable(f"统一身份认证服务暂不可用（{type(exc).__name__}）") from exc
    if response.status_code != 200 or "id_token" not in (body := response.json()):
        raise Unauthenticated(REFUSED)
    try:
        keys = KeySet.import_key_set(httpx.get(metadata["jwks_uri"], timeout=_TIMEOUT).json())
        token = jwt.decode(body["id_token"], keys)
        jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": metadata["issuer"]},
            aud={"essential": True, "value": str(settings.oidc_client_id)},
            nonce={"essential": True, "value": pending.nonce},
            sub={"essential": True},
            exp={"essential": True},
        ).validate(token.claims)
    except (JoseError, ValueError, KeyError) as exc:
        raise Unauthenticated(REFUSED) from exc
    except httpx.HTTPError as exc:
        raise Unavailable(f"统一身份认证服务暂不可用（{type(exc).__name__}）") from exc
    return Asserted(metadata["issuer"], str(token.claims["sub"]), dict(token.claims))


def _metadata() -> dict[str, Any]:
    """The provider's discovery document, read once an hour."""
    issuer = str(get_settings().oidc_issuer).rstrip("/")
    cached = _discovered.get(issuer)
    if cached is not None and time.monotonic() - cached[0] < 3600:
        return cached[1]
    try:
        document: dict[str, Any] = httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=_TIMEOUT).json()
    except (httpx.HTTPError, ValueError) as exc:
        raise Unavailable(f"统一身份认证服务暂不可用（{type(exc).__name__}）") from exc
    if document.get("issuer", "").rstrip("/") != issuer:
        raise Unavailable("统一身份认证服务的发现文档与配置的 issuer 不符")
    _discovered[issuer] = (time.monotonic(), document)
    return document
