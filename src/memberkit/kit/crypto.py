"""PII at rest: AES-GCM encryption and a keyed blind index for exact look-ups."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from memberkit.config import settings

#: v1 sealed with no binding; v2 binds each value to where it is stored (associated data).
_LEGACY = "v1"
_VERSION = "v2"


class CiphertextError(ValueError):
    """A stored value that is not one of our ciphertexts, or not the one stored here."""


def _derive(master: bytes, purpose: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(master)


@lru_cache(maxsize=4)
def _keys(master: bytes) -> tuple[AESGCM, bytes, bytes]:
    return (
        AESGCM(_derive(master, b"memberkit pii encryption")),
        _derive(master, b"memberkit blind index"),
        _derive(master, b"memberkit token hash"),
    )


@lru_cache(maxsize=4)
def _fingerprint_key(master: bytes) -> bytes:
    return _derive(master, b"memberkit request fingerprint")


@lru_cache(maxsize=4)
def _form_key(master: bytes) -> bytes:
    return _derive(master, b"memberkit form token")


def encrypt(plaintext: str | None, *, context: str) -> str | None:
    """Encrypt text with AES-GCM under a fresh nonce, bound to ``context``; ``None`` stays ``None``.

    ``context`` names where the value is stored (e.g. ``members:1:800000000018:phone``): it is
    the associated data, so a ciphertext copied to another row or field no longer decrypts.
    """
    if plaintext is None:
        return None
    aead, _, _ = _keys(settings.resolved_secret_key)
    nonce = os.urandom(12)
    sealed = aead.encrypt(nonce, plaintext.encode(), _associated(context))
    return f"{_VERSION}:{base64.b64encode(nonce + sealed).decode()}"


def decrypt(ciphertext: str | None, *, context: str) -> str | None:
    """Decrypt what :func:`encrypt` made for ``context``.

    Raises :class:`CiphertextError` if the value was made for another context, or the data or
    the key is wrong. Legacy v1 values (no binding) still decrypt until ``memberkit db
    reencrypt`` has rewritten them.
    """
    if ciphertext is None:
        return None
    version, _, body = ciphertext.partition(":")
    if version == _VERSION:
        associated = _associated(context)
    elif version == _LEGACY:
        associated = _LEGACY.encode()
    else:
        raise CiphertextError(f"unknown ciphertext version {version!r}")
    aead, _, _ = _keys(settings.resolved_secret_key)
    try:
        raw = base64.b64decode(body, validate=True)
        return aead.decrypt(raw[:12], raw[12:], associated).decode()
    except (InvalidTag, ValueError) as exc:
        raise CiphertextError(f"cannot decrypt the value stored as {context}") from exc


def is_legacy(ciphertext: str | None) -> bool:
    """Tell whether a stored value is a v1 ciphertext, not yet bound to its place."""
    return ciphertext is not None and ciphertext.startswith(f"{_LEGACY}:")


def _associated(context: str) -> bytes:
    return f"{_VERSION}:{context}".encode()


def blind_index(value: str) -> str:
    """Return a keyed HMAC of a normalized value, so it can be found without being stored."""
    mac = _keyed_mac(settings.resolved_secret_key).copy()
    mac.update(value.encode())
    return mac.hexdigest()


@lru_cache(maxsize=4)
def _keyed_mac(secret: str) -> hmac.HMAC:
    # Keying an HMAC costs more than hashing a phone number: key once, copy per value (bulk
    # imports look up thousands of phones a second).
    _, key, _ = _keys(secret)
    return hmac.new(key, digestmod=hashlib.sha256)


def token_hash(token: str) -> str:
    """Return the keyed hash under which a bearer token (QR, API key) is stored."""
    _, _, key = _keys(settings.resolved_secret_key)
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()


def fingerprint(text: str) -> str:
    """Return a keyed hash of a request's canonical text.

    Keyed, so requests holding a phone number are not open to a dictionary of phone numbers, as
    a plain hash would be.
    """
    key = _fingerprint_key(settings.resolved_secret_key)
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


def form_token(text: str) -> str:
    """Return a keyed, URL-safe hash of ``text``: the CSRF token a staff session's forms carry.

    Derived, not stored: only a holder of the master secret can make one for a session.
    """
    key = _form_key(settings.resolved_secret_key)
    digest = hmac.new(key, text.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")
