"""Store reads for screens and other domains: listings, codes."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from memberkit.store.models import Store


def code_of(session: Session, *, store_id: int) -> str | None:
    """Return the code of the store with row id ``store_id``."""
    return session.scalar(select(Store.code).where(Store.id == store_id))


def ids_by_code(session: Session, *, program_id: int) -> dict[str, int]:
    """Every store of the program, closed ones too: row id by code (the history import's)."""
    rows = session.execute(select(Store.code, Store.id).where(Store.program_id == program_id))
    return {code: store_id for code, store_id in rows}


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
