"""Encryption at rest for the few values a database dump must not reveal (bank details).

Fernet (AES-128-CBC + HMAC-SHA256, a timestamped token) from ``cryptography``, under a list
of keys (``AWDA_ENCRYPTION_KEYS``): the first encrypts, every one decrypts, so a key is
rotated by putting the new one first and, once ``rotate`` has re-encrypted the stored
values, dropping the old. With no keys configured, one key is derived from ``SECRET_KEY``
(HKDF): convenient locally, but then changing the secret key loses the data, so production
sets explicit keys.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

# Changing this changes the derived key: it names the purpose, so the key differs from any
# other key derived from the same secret.
_HKDF_INFO = b"awda encryption at rest v1"


class DecryptionError(Exception):
    """A stored value could not be decrypted: altered, or written under a key that is gone."""


def generate_key() -> str:
    """A new random key for ``AWDA_ENCRYPTION_KEYS``."""
    return Fernet.generate_key().decode()


def derived_key(secret_key: str) -> str:
    """The key used when none is configured: HKDF-SHA256 of the secret key."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
        secret_key.encode()
    )
    return base64.urlsafe_b64encode(raw).decode()


def encrypt(plaintext: str) -> str:
    """Encrypt under the first key; the token is ASCII, safe for a text column."""
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    """Decrypt with whichever configured key wrote ``token``."""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        # Never the token or the plaintext in the message: it ends up in logs.
        raise DecryptionError(
            "a stored value could not be decrypted: it was altered, or the key that "
            "encrypted it is not in AWDA_ENCRYPTION_KEYS"
        ) from None


def rotate(token: str) -> str:
    """Re-encrypt ``token`` under the first key (after a new key was put first)."""
    try:
        return _fernet().rotate(token.encode()).decode()
    except InvalidToken:
        raise DecryptionError("a stored value could not be decrypted for rotation") from None


def _fernet() -> MultiFernet:
    configured = settings.AWDA_ENCRYPTION_KEYS
    if isinstance(configured, str):
        configured = [k.strip() for k in configured.split(",") if k.strip()]
    return _multi_fernet(tuple(configured), settings.SECRET_KEY)


@lru_cache(maxsize=8)
def _multi_fernet(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    if not keys:
        return MultiFernet([Fernet(derived_key(secret_key))])
    fernets = []
    for position, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key))
        except (ValueError, TypeError):
            # The position, not the key: configuration errors are printed and logged.
            raise ImproperlyConfigured(
                f"AWDA_ENCRYPTION_KEYS: key {position} is not a Fernet key "
                "(32 url-safe base64-encoded bytes; make one with awda.core.crypto.generate_key)"
            ) from None
    return MultiFernet(fernets)
