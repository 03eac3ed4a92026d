"""API keys: issue, list, revoke, authenticate (cached, revocation checked each request)."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from memberkit.auth import repository
from memberkit.auth.models import ApiKey, Scope
from memberkit.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from memberkit.kit.i18n import _
from memberkit.kit.time import utcnow
from memberkit.store import service as store_service

#: What each scope may do, widest first: admin ⊇ pos ⊇ read.
GRANTS: dict[str, frozenset[str]] = {
    Scope.admin: frozenset({Scope.admin, Scope.pos, Scope.read}),
    Scope.pos: frozenset({Scope.pos, Scope.read}),
    Scope.read: frozenset({Scope.read}),
}
#: The length of the ``actor`` columns (ledger transactions, tier changes), and of key names.
ACTOR_LENGTH = NAME_LENGTH = 100
_CACHE_SECONDS = 10.0
_CACHE_LIMIT = 10_000
_cache: dict[str, tuple[float, Principal | None]] = {}


class InvalidScope(InvalidInput):
    """Unknown scope name."""

    code = "invalid_scope"
    message = _("Scope must be admin, pos or read.")


class InvalidKeyName(InvalidInput):
    """A key's name is empty or too long."""

    code = "invalid_key_name"
    message = _("A key's name must be 1 to {limit} characters long.")


class StoreMismatch(Forbidden):
    """A store-bound key used for another store."""

    code = "store_mismatch"
    message = _("This API key is bound to store {bound} and cannot act for store {store_code}.")


class StoreBoundKey(Forbidden):
    """A store-bound key asked for what concerns the whole chain (keys, program-wide rules)."""

    code = "store_bound_key"
    message = _(
        "This API key is bound to store {bound}: managing API keys and changing the whole"
        " program's rules needs an admin key that is not bound to a store."
    )


class CannotRevokeOwnKey(Conflict):
    """A key asked to revoke itself, which would lock its holder out."""

    code = "cannot_revoke_own_key"
    message = _("An API key cannot revoke itself ({ref}); revoke it with another admin key.")


class OnlineOrderNeedsUnboundKey(Forbidden):
    """An order without a store (online) is for keys that are not bound to a store."""

    code = "online_order_needs_unbound_key"
    message = _(
        "Order {external_id} has no store (online): only a key not bound to a store may act on it."
    )


def require_order_access(
    *, bound: str | None, order_store: str | None, external_id: str, cross_store_returns: bool
) -> None:
    """Refuse a key bound to store ``bound`` reading or refunding an order it may not.

    Unbound keys act on every order. A store-bound key acts on its own store's orders and, when
    the program allows cross-store returns (异店退货), on other stores' orders; never on an order
    without a store (online), which unbound keys refund.
    """
    if bound is None or order_store == bound:
        return
    if order_store is None:
        raise OnlineOrderNeedsUnboundKey(external_id=external_id)
    if not cross_store_returns:
        raise StoreMismatch(bound=bound, store_code=order_store)


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's name, scope, program and store binding."""

    key_id: int
    name: str
    scope: str
    program_id: int
    store_code: str | None

    @property
    def actor(self) -> str:
        """Who acted, as ledger and tier history record it: ``api:<key name>``, cut to fit."""
        return f"api:{self.name}"[:ACTOR_LENGTH]

    def require(self, scope: str) -> None:
        """Refuse unless this key's scope grants ``scope``."""
        if scope not in GRANTS[self.scope]:
            raise Forbidden()

    def require_unbound(self) -> None:
        """Refuse a store-bound key: what concerns the whole chain is for unbound keys."""
        if self.store_code is not None:
            raise StoreBoundKey(bound=self.store_code)

    def store_for(self, store_code: str | None) -> str | None:
        """Return the store an action is for, checking a store-bound key's binding."""
        if self.store_code is None:
            return store_code
        if store_code is not None and store_code != self.store_code:
            raise StoreMismatch(bound=self.store_code, store_code=store_code)
        return self.store_code


def _hash(key: str) -> str:
    # API keys are 256-bit random: a plain SHA-256 is enough and costs microseconds per request.
    return hashlib.sha256(key.encode()).hexdigest()


def create(
    session: Session, *, program_id: int, name: str, scope: str, store_code: str | None = None
) -> str:
    """Issue a new key and return it; only its hash is stored, so it is shown once."""
    if scope not in GRANTS:
        raise InvalidScope()
    if not 1 <= len(name) <= NAME_LENGTH:
        raise InvalidKeyName(limit=NAME_LENGTH)
    store_id = (
        store_service.get(session, program_id=program_id, code=store_code).id
        if store_code
        else None
    )
    prefix = secrets.token_hex(4)
    key = f"mk_{prefix}_{secrets.token_urlsafe(32)}"
    repository.add_key(
        session,
        key=ApiKey(
            program_id=program_id,
            name=name,
            prefix=prefix,
            key_hash=_hash(key),
            scope=scope,
            store_id=store_id,
        ),
    )
    return key


def _digest(authorization: str | None) -> str:
    scheme, _sep, key = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthorized()
    return _hash(key.strip())


def cached(authorization: str | None, engine: Engine) -> Principal | None:
    """Return the principal of a recently seen key, if it is still not revoked.

    The cache saves the key look-up (a join and a transaction); whether the key was revoked
    meanwhile, by any process, is checked on every request with one primary-key read, so a
    revoked key is refused at once everywhere. A revoked key is dropped from the cache.
    """
    digest = _digest(authorization)
    entry = _cache.get(digest)
    if entry is None or entry[0] <= time.monotonic() or entry[1] is None:
        return None
    if not repository.key_is_live(engine, entry[1].key_id):
        _cache.pop(digest, None)
        raise Unauthorized()
    return entry[1]


def authenticate(session: Session, authorization: str | None) -> Principal:
    """Return the principal of a ``Bearer`` header, or raise :class:`Unauthorized`.

    Valid keys are cached for a few seconds per process; :func:`cached` still checks each
    request for revocation.
    """
    digest = _digest(authorization)
    now = time.monotonic()
    cached = _cache.get(digest)
    if cached is not None and cached[0] > now:
        principal = cached[1]
    else:
        row = repository.live_key(session, key_hash=digest)
        principal = (
            Principal(row[0].id, row[0].name, row[0].scope, row[0].program_id, row[1])
            if row is not None
            else None
        )
        if principal is not None:  # unknown keys are not cached: a flood of them costs no memory
            if len(_cache) >= _CACHE_LIMIT:
                _cache.clear()
            _cache[digest] = (now + _CACHE_SECONDS, principal)
    if principal is None:
        raise Unauthorized()
    return principal


class KeyNotFound(NotFound):
    """No key of the program has this prefix or id."""

    code = "api_key_not_found"
    message = _("No API key with prefix or id {ref}.")


class AmbiguousKey(Conflict):
    """More than one key matches a prefix or id."""

    code = "api_key_ambiguous"
    message = _("Several API keys match {ref}; give the key's id.")


@dataclass(frozen=True)
class KeyInfo:
    """What may be shown of a key: never the key or its hash."""

    id: int
    prefix: str
    name: str
    scope: str
    store_code: str | None
    created_at: datetime
    revoked_at: datetime | None


def _infos(session: Session, **criteria: Any) -> list[KeyInfo]:
    rows = repository.keys(session, **criteria)
    return [
        KeyInfo(key.id, key.prefix, key.name, key.scope, code, key.created_at, key.revoked_at)
        for key, code in rows
    ]


def list_keys(session: Session, *, program_id: int) -> list[KeyInfo]:
    """Return the program's keys, revoked ones included, oldest first."""
    return _infos(session, program_id=program_id)


def describe(session: Session, *, key: str) -> KeyInfo:
    """Return what may be shown of a key just issued."""
    return _infos(session, key_hash=_hash(key))[0]


def revoke(
    session: Session, *, program_id: int, ref: str, acting_key_id: int | None = None
) -> KeyInfo:
    """Revoke the key with prefix or id ``ref``; revoking a revoked key changes nothing.

    Every process refuses it from the next request on (see :func:`cached`). The key making
    the request (``acting_key_id``) may not revoke itself: its holder would be locked out.
    """
    found = _infos(session, program_id=program_id, ref=ref)
    if not found:
        raise KeyNotFound(ref=ref)
    if len(found) > 1:
        raise AmbiguousKey(ref=ref)
    if found[0].id == acting_key_id:
        raise CannotRevokeOwnKey(ref=ref)
    if found[0].revoked_at is None:
        repository.revoke_key(session, key_id=found[0].id, at=utcnow())
        return _infos(session, key_id=found[0].id)[0]
    return found[0]


def forget_cache() -> None:
    """Drop cached keys (tests)."""
    _cache.clear()
