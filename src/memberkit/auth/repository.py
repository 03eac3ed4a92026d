"""API key reads, and the one statement of the per-request revocation check."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Engine, or_, select
from sqlalchemy.orm import Session

from memberkit.auth.models import ApiKey
from memberkit.db import peek
from memberkit.store.models import Store


def key_is_live(engine: Engine, key_id: int) -> bool:
    """Tell whether API key ``key_id`` exists and is not revoked, as committed now."""
    return (
        peek(engine, "SELECT 1 FROM api_keys WHERE id = ? AND revoked_at IS NULL", key_id)
        is not None
    )


def live_key(session: Session, *, key_hash: str) -> tuple[ApiKey, str | None] | None:
    """Return the unrevoked key with this hash and its store's code, if there is one."""
    row = session.execute(
        select(ApiKey, Store.code)
        .outerjoin(Store, Store.id == ApiKey.store_id)
        .where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None))
    ).one_or_none()
    return (row[0], row[1]) if row is not None else None


def keys(
    session: Session,
    *,
    program_id: int | None = None,
    key_hash: str | None = None,
    key_id: int | None = None,
    ref: str | None = None,
) -> list[tuple[ApiKey, str | None]]:
    """Return the keys that match every criterion given, with their stores' codes, by id.

    ``ref`` matches a key's prefix, or its id when ``ref`` is a short enough number.
    """
    conditions: list[ColumnElement[bool]] = []
    if program_id is not None:
        conditions.append(ApiKey.program_id == program_id)
    if key_hash is not None:
        conditions.append(ApiKey.key_hash == key_hash)
    if key_id is not None:
        conditions.append(ApiKey.id == key_id)
    if ref is not None:
        naming = [ApiKey.prefix == ref]
        if ref.isdigit() and len(ref) <= 18:
            naming.append(ApiKey.id == int(ref))
        conditions.append(or_(*naming))
    rows = session.execute(
        select(ApiKey, Store.code)
        .outerjoin(Store, Store.id == ApiKey.store_id)
        .where(*conditions)
        .order_by(ApiKey.id)
    ).all()
    return [(key, code) for key, code in rows]


def add_key(session: Session, *, key: ApiKey) -> None:
    """Insert a new key."""
    session.add(key)
    session.flush()


def revoke_key(session: Session, *, key_id: int, at: datetime) -> None:
    """Mark the key revoked at ``at``."""
    key = session.get_one(ApiKey, key_id)
    key.revoked_at = at
    session.flush()
