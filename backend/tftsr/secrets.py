"""Secrets stored inside the database (API keys, tokens): AES-256-GCM.

The stored form is ``base64(nonce || ciphertext || tag)`` with a fresh random 96-bit
nonce per encryption. The 256-bit key is derived from the database key with
HKDF-SHA256 under this module's own ``info`` label, so the secrets key is never the
database key itself and other uses of the database key cannot collide with it.

Secrets are decrypted only where they are used (building a request) and are never
returned to the frontend; :func:`mask_secret` gives the "sk-…abcd" form the UI shows.
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from tftsr.errors import TftsrError

HKDF_INFO = b"tftsr/secrets/aes-256-gcm/v1"
HKDF_SALT = b"tftsr-secrets-salt-v1"
NONCE_BYTES = 12
TAG_BYTES = 16


class SecretError(TftsrError):
    """A stored secret could not be decrypted (other key, or damaged)."""

    code = "secret_unreadable"
    http_status = 500


def _db_key_text(app_or_key) -> str:
    if isinstance(app_or_key, (str, bytes)):
        return app_or_key.decode("utf-8") if isinstance(app_or_key, bytes) else app_or_key
    key = getattr(app_or_key, "key", None)
    value = getattr(key, "value", None)
    if not isinstance(value, str):
        raise TypeError("encrypt_secret needs the App or the database key text")
    return value


def derive_key(db_key: str) -> bytes:
    """The 32-byte AES key for secrets, derived from the database key."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=HKDF_SALT,
                info=HKDF_INFO).derive(db_key.encode("utf-8"))


def encrypt_secret(app_or_key, plaintext: str) -> str:
    """Encrypt ``plaintext``; returns base64(nonce || ciphertext || tag)."""
    key = derive_key(_db_key_text(app_or_key))
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, plaintext.encode("utf-8"), None)  # ciphertext || tag
    return base64.b64encode(nonce + sealed).decode("ascii")


def decrypt_secret(app_or_key, stored: str) -> str:
    """Reverse :func:`encrypt_secret`. Raises SecretError when it cannot be read."""
    key = derive_key(_db_key_text(app_or_key))
    try:
        raw = base64.b64decode(stored.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, AttributeError):
        raise SecretError("A stored secret is damaged; enter it again.") from None
    if len(raw) < NONCE_BYTES + TAG_BYTES:
        raise SecretError("A stored secret is damaged; enter it again.")
    try:
        plain = AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], None)
    except InvalidTag:
        raise SecretError(
            "A stored secret could not be decrypted (it was saved with another database key "
            "or has been altered). Enter it again."
        ) from None
    return plain.decode("utf-8")


def mask_secret(secret: str | None) -> str | None:
    """The form the UI shows: a recognisable prefix such as ``sk-`` and the last four
    characters ("sk-…abcd"). Short secrets show nothing but the ellipsis."""
    if not secret:
        return None
    if len(secret) < 12:
        return "…"
    prefix = ""
    for known in ("sk-ant-", "sk-proj-", "sk-", "AIza", "key-"):
        if secret.startswith(known) and len(secret) > len(known) + 8:
            prefix = known
            break
    return f"{prefix}…{secret[-4:]}"
