"""Stores: create, change, list."""

from __future__ import annotations

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from memberkit.db import table
from memberkit.errors import Conflict, NotFound
from memberkit.kit.i18n import _
from memberkit.store.models import Store, StoreType


class StoreNotFound(NotFound):
    """No store with that code."""

    code = "store_not_found"
    message = _("No store with code {store_code}.")


class StoreInactive(Conflict):
    """The store is closed for business."""

    code = "store_inactive"
    message = _("Store {store_code} is not active.")


class StoreExists(Conflict):
    """A store code is taken."""

    code = "store_exists"
    message = _("A store with code {store_code} already exists.")


def get(session: Session, *, program_id: int, code: str) -> Store:
    """Return a store by code or raise :class:`StoreNotFound`."""
    store = session.scalars(
        select(Store).where(Store.program_id == program_id, Store.code == code)
    ).one_or_none()
    if store is None:
        raise StoreNotFound(store_code=code)
    return store


_stores = table(Store)
_ACTIVE_BY_CODE = select(_stores.c.id, _stores.c.active).where(
    _stores.c.program_id == bindparam("program_id"), _stores.c.code == bindparam("code")
)


def active_store_id(session: Session, *, program_id: int, code: str) -> int:
    """Return the id of an active store by code; refuse unknown and inactive stores."""
    row = (
        session.connection()
        .execute(_ACTIVE_BY_CODE, {"program_id": program_id, "code": code})
        .one_or_none()
    )
    if row is None:
        raise StoreNotFound(store_code=code)
    if not row.active:
        raise StoreInactive(store_code=code)
    return int(row.id)


def create(
    session: Session,
    *,
    program_id: int,
    code: str,
    name: str,
    type: StoreType,
    city: str,
    active: bool = True,
) -> tuple[Store, bool]:
    """Create a store; returns (store, created).

    Creating the same store again (same code, same content) is a no-op that returns it;
    the same code with other content is refused with :class:`StoreExists`.
    """
    existing = session.scalars(
        select(Store).where(Store.program_id == program_id, Store.code == code)
    ).one_or_none()
    if existing is not None:
        same = (existing.name, existing.type, existing.city, existing.active) == (
            name,
            type,
            city,
            active,
        )
        if same:
            return existing, False
        raise StoreExists(store_code=code)
    store = Store(program_id=program_id, code=code, name=name, type=type, city=city, active=active)
    session.add(store)
    session.flush()
    return store, True


def listing(
    session: Session,
    *,
    program_id: int,
    city: str | None,
    active: bool | None,
    offset: int,
    limit: int,
) -> tuple[int, list[Store]]:
    """Return (total, page) of stores ordered by code."""
    query = select(Store).where(Store.program_id == program_id)
    if city:
        query = query.where(Store.city == city)
    if active is not None:
        query = query.where(Store.active == active)
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    return total, list(session.scalars(query.order_by(Store.code).offset(offset).limit(limit)))
