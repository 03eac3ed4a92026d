"""Staff passwords: Argon2id hashes with the deployment's costs, redone when the costs change."""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from memberkit.config import settings
from memberkit.staff.rules import PASSWORD_MAX


@lru_cache(maxsize=4)
def _hasher(time_cost: int, memory_kib: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)


def hasher() -> PasswordHasher:
    """Return the hasher of the configured costs (``settings.password_*``)."""
    return _hasher(
        settings.password_time_cost, settings.password_memory_kib, settings.password_parallelism
    )


@lru_cache(maxsize=4)
def _dummy(hasher: PasswordHasher) -> str:
    return hasher.hash("memberkit: no such account")


def hash_password(password: str) -> str:
    """Return the encoded Argon2id hash of ``password`` (salt and costs included)."""
    return hasher().hash(password)


def verify(encoded: str | None, password: str) -> tuple[bool, bool]:
    """Check ``password`` against a stored hash; return (right, the hash should be redone).

    With no stored hash (no such account) a dummy hash of the same costs is checked, so the
    answer takes as long whether or not the account exists. A password longer than any we
    accept is wrong, and is checked as a dummy too.
    """
    current = hasher()
    if encoded is None or len(password) > PASSWORD_MAX:
        encoded, password = _dummy(current), "\x00" + password[:PASSWORD_MAX]
        real = False
    else:
        real = True
    try:
        current.verify(encoded, password)
    except (VerificationError, InvalidHashError):
        return False, False
    return real, real and current.check_needs_rehash(encoded)
