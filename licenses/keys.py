"""The signing key set: Ed25519 keys in ``<data_dir>/keys/``, created on first use, rotated without breaking old
licenses, published as a JWKS document (RFC 7517/8037) at ``/.well-known/onelicense-keys.json``.

Folder layout: one ``<kid>.pem`` (PKCS#8, mode 0600) per key, an ``ACTIVE`` file naming the key that signs new
tokens, and a ``REVOKED`` file (JSON: kid → when and why) listing keys that leaked: their tokens no longer verify.
The key id is the hex of the first 4 bytes of SHA-256 over the raw public key: short because it travels in every QR
code; rotation refuses a colliding id.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import json
import os
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from onelicense.licenses.errors import KeyRevoked, KeyStoreError, UnknownKey

KID_BYTES = 4
_ACTIVE_FILE = "ACTIVE"
_REVOKED_FILE = "REVOKED"
_LOCK_FILE = ".lock"


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).digest()[:KID_BYTES].hex()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class KeySet:
    """Public keys by kid, plus the active private key when this process may sign."""

    public_keys: Mapping[str, Ed25519PublicKey]
    active_kid: str | None = None
    _private: Ed25519PrivateKey | None = field(default=None, repr=False)
    revoked: Mapping[str, str] = field(default_factory=dict)  # kid → when it was revoked (ISO 8601, UTC)
    updated_at: str | None = None  # when the set last changed (rotation, revocation), as published

    def public_key(self, kid: str) -> Ed25519PublicKey:
        """The key that verifies tokens of `kid`: UnknownKey if it is not ours, KeyRevoked if it leaked."""
        if kid in self.revoked:
            raise KeyRevoked(kid, self.revoked[kid])
        try:
            return self.public_keys[kid]
        except KeyError:
            raise UnknownKey(kid) from None

    def signing_key(self) -> tuple[str, Ed25519PrivateKey]:
        if self._private is None or self.active_kid is None:
            raise KeyStoreError("该密钥集只有公钥，不能签发")
        return self.active_kid, self._private

    def to_jwks(self) -> dict[str, Any]:
        """The published key set: `keys` holds only the keys that verify (a standard JWKS, RFC 7517/8037), so a
        library that looks a kid up never finds a leaked key there; `revoked_keys` lists the revoked ones with
        when they were revoked, for verifiers that must say 签名密钥已停用 rather than 未知密钥."""
        keys, revoked = [], []
        for kid, public in sorted(self.public_keys.items()):
            raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            jwk = {"kty": "OKP", "crv": "Ed25519", "kid": kid, "x": _b64url(raw)}
            if kid in self.revoked:
                revoked.append({**jwk, "status": "revoked", "revoked_at": self.revoked[kid]})
            else:
                keys.append({**jwk, "alg": "EdDSA", "use": "sig", "status": self._status(kid)})
        return {"keys": keys, "revoked_keys": revoked, "updated_at": self.updated_at}

    def _status(self, kid: str) -> str:
        if kid in self.revoked:
            return "revoked"
        return "active" if kid == self.active_kid else "retired"

    @classmethod
    def from_jwks(cls, document: Mapping[str, Any]) -> KeySet:
        """A verify-only key set from a published JWKS document, its `revoked_keys` included (and a copy saved
        before they had a member of their own, when `keys` marked them `status: revoked`); every kid is checked
        against its key."""
        public: dict[str, Ed25519PublicKey] = {}
        revoked: dict[str, str] = {}
        active = None
        try:
            listed = [(entry, False) for entry in document["keys"]]
            listed += [(entry, True) for entry in document.get("revoked_keys") or []]
            for entry, withdrawn in listed:
                if entry.get("kty") != "OKP" or entry.get("crv") != "Ed25519":
                    continue
                key = Ed25519PublicKey.from_public_bytes(_b64url_decode(entry["x"]))
                if key_id(key) != entry["kid"]:
                    raise KeyStoreError(f"公钥 {entry['kid']} 的编号与公钥内容不符")
                public[entry["kid"]] = key
                if withdrawn or entry.get("status") == "revoked":
                    revoked[entry["kid"]] = str(entry.get("revoked_at", ""))
                elif entry.get("status") == "active":
                    active = entry["kid"]
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise KeyStoreError(f"公钥集格式错误：{exc}") from exc
        updated = document.get("updated_at")
        return cls(public, active, revoked=revoked, updated_at=str(updated) if updated else None)


@contextlib.contextmanager
def locked(folder: Path) -> Iterator[None]:
    """Hold `folder`'s key lock (an flock on its .lock file, across processes): one maker of a key at a time."""
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(folder / _LOCK_FILE, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _write_private(folder: Path, taken: set[str]) -> str:
    while True:
        private = Ed25519PrivateKey.generate()
        kid = key_id(private.public_key())
        if kid not in taken:
            break
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    fd = os.open(folder / f"{kid}.pem", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    return kid


def _set_active(folder: Path, kid: str) -> None:
    replace_file(folder / _ACTIVE_FILE, kid + "\n")


def replace_file(path: Path, text: str) -> None:
    """Write `text` to `path` whole or not at all (a temporary file beside it, then an atomic rename): a reader of
    the key folder never sees half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def revoked_json(revoked: Mapping[str, Any]) -> str:
    """The REVOKED file's text (both key stores keep it the same way)."""
    return json.dumps(revoked, ensure_ascii=False, indent=2) + "\n"


def _read(folder: Path) -> KeySet:
    try:
        return _read_files(folder)
    except (OSError, ValueError, TypeError, UnsupportedAlgorithm) as exc:  # unreadable or not a key
        raise KeyStoreError(f"无法读取密钥目录 {folder}：{exc}") from exc


def _read_files(folder: Path) -> KeySet:
    public: dict[str, Ed25519PublicKey] = {}
    privates: dict[str, Ed25519PrivateKey] = {}
    for path in sorted(folder.glob("*.pem")):
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise KeyStoreError(f"私钥文件 {path} 权限过宽（{oct(mode)}），应为 0600")
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(private, Ed25519PrivateKey):
            raise KeyStoreError(f"{path} 不是 Ed25519 私钥")
        kid = key_id(private.public_key())
        if kid != path.stem:
            raise KeyStoreError(f"{path} 的文件名与密钥编号 {kid} 不符")
        privates[kid] = private
        public[kid] = private.public_key()
    active_path = folder / _ACTIVE_FILE
    active = active_path.read_text(encoding="ascii").strip() if active_path.exists() else None
    if active is not None and active not in privates:
        raise KeyStoreError(f"当前密钥 {active} 在 {folder} 中不存在")
    revoked_path = folder / _REVOKED_FILE
    revoked = json.loads(revoked_path.read_text(encoding="utf-8")) if revoked_path.exists() else {}
    if active in revoked:
        raise KeyStoreError(f"当前密钥 {active} 已停用，不能用于签发")
    stamps = [p.stat().st_mtime for p in (active_path, revoked_path) if p.exists()]
    updated = datetime.fromtimestamp(max(stamps), UTC).isoformat(timespec="seconds") if stamps else None
    return KeySet(
        public,
        active,
        privates.get(active) if active else None,
        revoked={kid: str(entry["at"]) for kid, entry in revoked.items()},
        updated_at=updated,
    )


def load_keyset(folder: Path, *, create: bool = True) -> KeySet:
    """The key set in `folder`; on first use (no active key) a key is generated when `create` is true."""
    if (folder / _ACTIVE_FILE).exists() or not create:
        if not folder.exists():
            raise KeyStoreError(f"密钥目录 {folder} 不存在")
        return _read(folder)
    with locked(folder):
        if not (folder / _ACTIVE_FILE).exists():
            kid = _write_private(folder, set())
            _set_active(folder, kid)
        return _read(folder)


def rotate_key(folder: Path) -> str:
    """Generate a new active key; earlier keys stay in the set so the licenses they signed still verify."""
    with locked(folder):
        taken = {path.stem for path in folder.glob("*.pem")}
        kid = _write_private(folder, taken)
        _set_active(folder, kid)
        return kid


def revoke_key(folder: Path, kid: str, reason: str, at: datetime) -> str | None:
    """Mark a leaked key revoked: every token it signed stops verifying. When it is the active key, a new key
    becomes active first (returned), so issuing goes on."""
    with locked(folder):
        if not (folder / f"{kid}.pem").exists():
            raise UnknownKey(kid)
        path = folder / _REVOKED_FILE
        revoked = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        revoked[kid] = {"at": at.astimezone(UTC).isoformat(timespec="seconds"), "reason": reason}
        replacement = None
        active = (folder / _ACTIVE_FILE).read_text(encoding="ascii").strip()
        if active == kid:
            replacement = _write_private(folder, {p.stem for p in folder.glob("*.pem")})
        replace_file(path, revoked_json(revoked))
        if replacement is not None:
            _set_active(folder, replacement)
        return replacement


def load_public_keyset(folder: Path) -> KeySet:
    """Verify-only: the public keys in `folder`, for the public verification pages.

    Never creates a key (a verifier must not mint signing keys) and keeps no private key in the returned set.
    KeyStoreError when the folder is missing, unreadable, unsafe or holds no key at all: with no keys every genuine
    license would look forged, so that is an outage, not an answer."""
    keyset = load_keyset(folder, create=False)
    if not keyset.public_keys:
        raise KeyStoreError(f"密钥目录 {folder} 中没有任何密钥")
    return KeySet(dict(keyset.public_keys), keyset.active_kid, revoked=keyset.revoked, updated_at=keyset.updated_at)


_cache: dict[tuple[Path, bool], tuple[int, KeySet]] = {}


def cached_keyset(folder: Path) -> KeySet:
    """load_keyset (signing: creates the first key), re-read only when the folder changed (a rotation by another
    process renames ACTIVE in).

    One stat per call: this sits on the path of every issue."""
    return _cached(folder, public_only=False)


def cached_public_keyset(folder: Path) -> KeySet:
    """load_public_keyset, re-read only when the folder changed. One stat per call: this sits on the path of every
    verification request. Never creates anything; KeyStoreError when there is no usable key store."""
    return _cached(folder, public_only=True)


def _cached(folder: Path, *, public_only: bool) -> KeySet:
    try:
        stamp = folder.stat().st_mtime_ns
    except FileNotFoundError:
        if public_only:
            raise KeyStoreError(f"密钥目录 {folder} 不存在") from None
        stamp = -1
    except OSError as exc:
        raise KeyStoreError(f"无法读取密钥目录 {folder}：{exc}") from exc
    hit = _cache.get((folder, public_only))
    if hit is not None and hit[0] == stamp:
        return hit[1]
    keyset = load_public_keyset(folder) if public_only else load_keyset(folder)
    if stamp == -1:  # the load created the folder (under the lock, so a racing creator made the same key)
        stamp = folder.stat().st_mtime_ns
    _cache[(folder, public_only)] = (stamp, keyset)  # the stamp from before the read: a change reloads next time
    return keyset


def write_jwks(keyset: KeySet, path: Path) -> None:
    path.write_text(json.dumps(keyset.to_jwks(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
