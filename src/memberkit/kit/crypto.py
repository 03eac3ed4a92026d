"""PII at rest: AES-GCM encryption and a keyed blind index for exact look-ups."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from memberkit.config import settings

_VERSION = "v1"


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master)


@lru_cache(maxsize=4)
def _keys(master: bytes) -> tuple[AESGCM, bytes, bytes]:
    return (
        AESGCM(_derive(master, b"memberkit pii encryption")),
        _derive(master, b"memberkit blind index"),
        _derive(master, b"memberkit token hash"),
    )


def encrypt(plaintext: str | None) -> str | None:
    """Encrypt text with AES-GCM under a fresh nonce; ``None`` stays ``None``."""
    if plaintext is None:
        return None
    aead, _, _ = _keys(settings.resolved_secret_key)
    nonce = os.urandom(12)
    sealed = aead.encrypt(nonce, plaintext.encode(), _VERSION.encode())
    return f"{_VERSION}:{base64.b64encode(nonce + sealed).decode()}"


def decrypt(ciphertext: str | None) -> str | None:
    """Decrypt what :func:`encrypt` made; raises if the data or the key is wrong."""
    if ciphertext is None:
        return None
    version, _, body = ciphertext.partition(":")
    if version != _VERSION:
        raise ValueError(f"unknown ciphertext version {version!r}")
    raw = base64.b64decode(body)
    aead, _, _ = _keys(settings.resolved_secret_key)
    return aead.decrypt(raw[:12], raw[12:], _VERSION.encode()).decode()


def blind_index(value: str) -> str:
    """Return a keyed HMAC of a normalized value, so it can be found without being stored."""
    _, key, _ = _keys(settings.resolved_secret_key)
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def token_hash(token: str) -> str:
    """Return the keyed hash under which a bearer token (QR, API key) is stored."""
    _, _, key = _keys(settings.resolved_secret_key)
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()
