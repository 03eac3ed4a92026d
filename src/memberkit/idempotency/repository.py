"""Idempotency records: the look-up of a key, the insert of a first response, the purge."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, delete, func, insert, select
from sqlalchemy.orm import Session

from memberkit.db import table
from memberkit.idempotency.models import IdempotencyRecord

_records = table(IdempotencyRecord)
_REPLAY = select(_records.c.request_hash, _records.c.status_code, _records.c.response).where(
    _records.c.program_id == bindparam("program_id"), _records.c.key == bindparam("key")
)
_INSERT = insert(_records)


def find_record(session: Session, *, program_id: int, key: str) -> Row[Any, Any, Any] | None:
    """Return (request_hash, status_code, response) stored under ``key``, if any."""
    return (
        session.connection().execute(_REPLAY, {"program_id": program_id, "key": key}).one_or_none()
    )


def insert_record(
    session: Session,
    *,
    program_id: int,
    key: str,
    request_hash: str,
    status_code: int,
    response: dict[str, Any],
) -> None:
    """Insert the record of a first response (a key recorded already fails on its constraint)."""
    session.execute(
        _INSERT,
        {
            "program_id": program_id,
            "key": key,
            "request_hash": request_hash,
            "status_code": status_code,
            "response": response,
        },
    )


def delete_before(session: Session, *, program_id: int, before: datetime, dry_run: bool) -> int:
    """Delete the program's records created before ``before``; ``dry_run`` only counts them."""
    due = (_records.c.program_id == program_id) & (_records.c.created_at < before)
    if dry_run:
        return session.scalar(select(func.count()).select_from(_records).where(due)) or 0
    return session.connection().execute(delete(_records).where(due)).rowcount
