"""Writes of the analytics domain: member_rfm rows replaced in bulk, refreshes recorded."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from itertools import islice
from typing import Any, cast

from sqlalchemy import Table, delete, insert
from sqlalchemy.orm import Session

from memberkit.analytics.models import MemberRfm, RfmRefresh

#: Rows per multi-row INSERT: big enough to amortize round trips, small enough for memory.
BATCH = 5_000


def _batches(rows: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def clear(session: Session, *, program_id: int, member_ids: Collection[int] | None = None) -> None:
    """Delete the program's member_rfm rows (only those of ``member_ids``, if given)."""
    statement = delete(MemberRfm).where(MemberRfm.program_id == program_id)
    if member_ids is not None:
        statement = statement.where(MemberRfm.member_id.in_(member_ids))
    session.execute(statement)


def insert_rows(session: Session, rows: Iterable[dict[str, Any]], *, batch: int = BATCH) -> int:
    """Insert member_rfm rows with Core, ``batch`` at a time; return how many."""
    written = 0
    # The table's own INSERT on the session's connection: one executemany per batch (the ORM's
    # bulk path would split the batch by which values are None).
    connection = session.connection()
    statement = insert(cast(Table, MemberRfm.__table__))
    for chunk in _batches(rows, batch):
        connection.execute(statement, chunk)
        written += len(chunk)
    return written


def add_refresh(session: Session, **values: Any) -> RfmRefresh:
    """Record a full refresh (its settings, cut-offs, sums and duration)."""
    refresh = RfmRefresh(**values)
    session.add(refresh)
    session.flush()
    return refresh
