"""AES-256-GCM secrets: base64(nonce || ciphertext || tag), key from HKDF of the DB key."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from tftsr.secrets import (
    SecretError,
    decrypt_secret,
    derive_key,
    encrypt_secret,
    mask_secret,
)

DB_KEY = "correct horse battery staple 4821"


def test_round_trip_and_layout():
    stored = encrypt_secret(DB_KEY, "sk-ant-api03-secret-value")
    raw = base64.b64decode(stored)
    assert len(raw) == 12 + len("sk-ant-api03-secret-value") + 16
    # the layout is nonce || ciphertext || tag, decryptable with the HKDF-derived key
    plain = AESGCM(derive_key(DB_KEY)).decrypt(raw[:12], raw[12:], None)
    assert plain == b"sk-ant-api03-secret-value"
    assert decrypt_secret(DB_KEY, stored) == "sk-ant-api03-secret-value"


def test_every_encryption_uses_a_fresh_nonce():
    a, b = encrypt_secret(DB_KEY, "same"), encrypt_secret(DB_KEY, "same")
    assert a != b and base64.b64decode(a)[:12] != base64.b64decode(b)[:12]


def test_the_secrets_key_is_derived_not_the_db_key():
    key = derive_key(DB_KEY)
    assert len(key) == 32 and key == derive_key(DB_KEY) != derive_key(DB_KEY + "x")
    raw = base64.b64decode(encrypt_secret(DB_KEY, "token"))
    # Neither the DB key's own bytes nor its plain hash open a stored secret.
    for guess in (DB_KEY.encode()[:32].ljust(32, b"\0"), hashlib.sha256(DB_KEY.encode()).digest()):
        with pytest.raises(InvalidTag):
            AESGCM(guess).decrypt(raw[:12], raw[12:], None)


def test_a_wrong_db_key_or_tampering_is_refused():
    stored = encrypt_secret(DB_KEY, "token")
    with pytest.raises(SecretError):
        decrypt_secret("another key", stored)
    raw = bytearray(base64.b64decode(stored))
    raw[-1] ^= 1
    with pytest.raises(SecretError):
        decrypt_secret(DB_KEY, base64.b64encode(bytes(raw)).decode())
    with pytest.raises(SecretError):
        decrypt_secret(DB_KEY, "not base64!")


def test_app_key_is_used(app):
    stored = encrypt_secret(app, "value")
    assert decrypt_secret(app.key.value, stored) == "value"


def test_masking_shows_only_the_last_four():
    assert mask_secret("sk-proj-abcdefghijklmnop1234") == "sk-proj-…1234"
    assert mask_secret("AIzaSyD-abcdefghijklmnopWXYZ") == "AIza…WXYZ"
    assert mask_secret("plainsecretvalue9876") == "…9876"
    assert mask_secret("short") == "…"
    assert mask_secret(None) is None
