"""Idempotency by key: the first response to a key is stored and returned to every repeat."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session

from memberkit.db import table
from memberkit.errors import IdempotencyConflict
from memberkit.idempotency.models import IdempotencyRecord


def fingerprint(payload: Any) -> str:
    """Return a hash of a request's content (canonical JSON)."""
    text = json.dumps(
        payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return hashlib.sha256(text.encode()).hexdigest()


_records = table(IdempotencyRecord)
_REPLAY = select(_records.c.request_hash, _records.c.status_code, _records.c.response).where(
    _records.c.program_id == bindparam("program_id"), _records.c.key == bindparam("key")
)


def replay(
    session: Session, *, program_id: int, key: str, request_hash: str
) -> tuple[int, dict[str, Any]] | None:
    """Return the stored (status, response) for ``key``; refuse other content under it."""
    row = (
        session.connection().execute(_REPLAY, {"program_id": program_id, "key": key}).one_or_none()
    )
    if row is None:
        return None
    if row.request_hash != request_hash:
        raise IdempotencyConflict(key=key.partition(":")[2] or key)
    return row.status_code, row.response


def remember(
    session: Session,
    *,
    program_id: int,
    key: str,
    request_hash: str,
    status_code: int,
    response: dict[str, Any],
) -> None:
    """Store the first response to ``key`` in the same transaction as the work it describes."""
    session.execute(
        insert(table(IdempotencyRecord)),
        {
            "program_id": program_id,
            "key": key,
            "request_hash": request_hash,
            "status_code": status_code,
            "response": response,
        },
    )
