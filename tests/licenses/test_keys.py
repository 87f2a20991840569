from __future__ import annotations

import json
import stat
import threading
from pathlib import Path

import pytest

from onelicense.licenses.errors import KeyStoreError, UnknownKey
from onelicense.licenses.keys import (
    KeySet,
    cached_keyset,
    cached_public_keyset,
    key_id,
    load_keyset,
    load_public_keyset,
    rotate_key,
)


def test_first_use_creates_one_private_key_readable_by_the_owner_only(key_folder: Path) -> None:
    keyset = load_keyset(key_folder)
    pems = list(key_folder.glob("*.pem"))
    assert [p.stem for p in pems] == [keyset.active_kid]
    assert stat.S_IMODE(pems[0].stat().st_mode) == 0o600
    assert stat.S_IMODE(key_folder.stat().st_mode) & 0o077 == 0
    assert load_keyset(key_folder).active_kid == keyset.active_kid


def test_key_id_is_derived_from_the_public_key(keyset: KeySet) -> None:
    kid, private = keyset.signing_key()
    assert key_id(private.public_key()) == kid
    assert len(kid) == 8


def test_concurrent_first_use_creates_a_single_key(key_folder: Path) -> None:
    results: list[str | None] = []
    threads = [threading.Thread(target=lambda: results.append(load_keyset(key_folder).active_kid)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1
    assert len(list(key_folder.glob("*.pem"))) == 1


def test_rotation_adds_an_active_key_and_keeps_the_old_ones(key_folder: Path) -> None:
    old = load_keyset(key_folder).active_kid
    new = rotate_key(key_folder)
    keyset = load_keyset(key_folder)
    assert keyset.active_kid == new != old
    assert set(keyset.public_keys) == {old, new}
    statuses = {k["kid"]: k["status"] for k in keyset.to_jwks()["keys"]}
    assert statuses == {old: "retired", new: "active"}


def test_cached_keyset_sees_a_rotation_made_elsewhere(key_folder: Path) -> None:
    first = cached_keyset(key_folder)
    assert cached_keyset(key_folder) is first
    new = rotate_key(key_folder)
    assert cached_keyset(key_folder).active_kid == new


def test_published_jwks_round_trips_to_a_verify_only_keyset(keyset: KeySet) -> None:
    document = json.loads(json.dumps(keyset.to_jwks()))
    assert all("d" not in key for key in document["keys"])  # no private part is ever published
    public_only = KeySet.from_jwks(document)
    assert set(public_only.public_keys) == set(keyset.public_keys)
    with pytest.raises(KeyStoreError):
        public_only.signing_key()
    with pytest.raises(UnknownKey):
        public_only.public_key("00000000")


def test_a_jwks_entry_whose_kid_does_not_match_its_key_is_rejected(keyset: KeySet) -> None:
    document = keyset.to_jwks()
    document["keys"][0]["kid"] = "deadbeef"
    with pytest.raises(KeyStoreError):
        KeySet.from_jwks(document)


def test_a_private_key_readable_by_others_is_refused(key_folder: Path) -> None:
    load_keyset(key_folder)
    pem = next(key_folder.glob("*.pem"))
    pem.chmod(0o644)
    with pytest.raises(KeyStoreError, match="0600"):
        load_keyset(key_folder)


def test_without_create_a_missing_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(KeyStoreError):
        load_keyset(tmp_path / "nowhere", create=False)


def test_the_public_key_set_never_creates_a_key_and_holds_no_private_key(key_folder: Path) -> None:
    with pytest.raises(KeyStoreError):
        load_public_keyset(key_folder)  # missing folder
    with pytest.raises(KeyStoreError):
        cached_public_keyset(key_folder)
    key_folder.mkdir(mode=0o700)
    with pytest.raises(KeyStoreError):
        cached_public_keyset(key_folder)  # an empty folder: every genuine license would look forged
    assert list(key_folder.iterdir()) == []

    signing = load_keyset(key_folder)
    public = cached_public_keyset(key_folder)
    assert set(public.public_keys) == set(signing.public_keys) and public.active_kid == signing.active_kid
    with pytest.raises(KeyStoreError):
        public.signing_key()


def test_an_unreadable_key_file_is_a_key_store_error(key_folder: Path) -> None:
    load_keyset(key_folder)
    (pem,) = key_folder.glob("*.pem")
    pem.write_bytes(b"not a key")
    with pytest.raises(KeyStoreError):
        load_public_keyset(key_folder)
