"""PII encryption: values bound to their place, legacy values still readable."""

from __future__ import annotations

import base64
import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from memberkit.config import configure, settings
from memberkit.kit import crypto


@pytest.fixture(autouse=True)
def secret() -> None:
    if not settings.secret_key:
        configure(secret_key="test-secret-key-not-for-production")


def legacy_encrypt(plaintext: str) -> str:
    """What the v1 format wrote: no binding, the version as associated data."""
    aead = crypto._keys(settings.resolved_secret_key)[0]
    nonce = os.urandom(12)
    return "v1:" + base64.b64encode(nonce + aead.encrypt(nonce, plaintext.encode(), b"v1")).decode()


def test_a_value_decrypts_only_in_the_place_it_was_made_for() -> None:
    # given a phone sealed for one member
    sealed = crypto.encrypt("13800138000", context="members:1:800000000018:phone")
    assert sealed is not None and sealed.startswith("v2:")
    # then it opens there
    assert crypto.decrypt(sealed, context="members:1:800000000018:phone") == "13800138000"
    # and not as another member's phone, nor as the same member's e-mail
    for elsewhere in ("members:1:800000000026:phone", "members:1:800000000018:email"):
        with pytest.raises(crypto.CiphertextError):
            crypto.decrypt(sealed, context=elsewhere)


def test_legacy_values_still_decrypt_and_are_recognised() -> None:
    old = legacy_encrypt("张三")
    assert crypto.is_legacy(old)
    assert crypto.decrypt(old, context="members:1:800000000018:name") == "张三"
    assert not crypto.is_legacy(crypto.encrypt("张三", context="x"))


@pytest.mark.parametrize("stored", ["v3:AAAA", "v2:not base64!", "v2:" + "A" * 40, "plain"])
def test_garbage_is_refused_with_a_ciphertext_error(stored: str) -> None:
    with pytest.raises(crypto.CiphertextError):
        crypto.decrypt(stored, context="members:1:800000000018:phone")


def test_aesgcm_is_what_seals_the_value() -> None:
    sealed = crypto.encrypt("x", context="c")
    assert sealed is not None
    raw = base64.b64decode(sealed[3:])
    aead: AESGCM = crypto._keys(settings.resolved_secret_key)[0]
    assert aead.decrypt(raw[:12], raw[12:], b"v2:c") == b"x"
