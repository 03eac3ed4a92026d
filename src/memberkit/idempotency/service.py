"""Idempotency by key: the first response to a key is stored and returned to every repeat.

The stored response is sealed (AES-GCM, bound to its program and key), since responses hold
personal data (a registration's phone, name, birthday, e-mail); the request's fingerprint is a
keyed hash. Records are purged after the program's retention period; the business keys (an
order's external id, a member's phone index, a ledger transaction's key) keep stopping
duplicates after that.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from memberkit.errors import Conflict, IdempotencyConflict
from memberkit.idempotency import repository
from memberkit.kit import crypto
from memberkit.kit.i18n import _


def _canonical(payload: Any) -> str:
    return json.dumps(
        payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )


def fingerprint(payload: Any) -> str:
    """Return a keyed hash of a request's content (canonical JSON)."""
    return crypto.fingerprint(_canonical(payload))


def _legacy_fingerprint(payload: Any) -> str:
    # What records written before fingerprints were keyed hold.
    return hashlib.sha256(_canonical(payload).encode()).hexdigest()


def _place(program_id: int, key: str) -> str:
    return f"idempotency_records:{program_id}:{key}"


def _seal(program_id: int, key: str, response: dict[str, Any]) -> dict[str, Any]:
    return {"sealed": crypto.encrypt(_canonical(response), context=_place(program_id, key))}


class StoredResponseUnreadable(Conflict):
    """A stored first response does not decrypt: altered, moved from another key, other key."""

    code = "stored_response_unreadable"
    message = _(
        "The stored response to {key} cannot be decrypted: it was altered, or encrypted with"
        " another secret key. Restore it from a backup, or delete the record to let the"
        " business key decide."
    )


def _unseal(program_id: int, key: str, stored: dict[str, Any]) -> dict[str, Any]:
    if set(stored) != {"sealed"}:
        return stored  # written before responses were sealed
    try:
        opened = crypto.decrypt(stored["sealed"], context=_place(program_id, key))
    except crypto.CiphertextError as exc:
        raise StoredResponseUnreadable(key=key.partition(":")[2] or key) from exc
    return dict(json.loads(opened or "{}"))


def replay(
    session: Session,
    *,
    program_id: int,
    key: str,
    request_hash: str,
    payload: Any = None,
    also: tuple[str, ...] = (),
) -> tuple[int, dict[str, Any]] | None:
    """Return the stored (status, response) for ``key``; refuse other content under it.

    ``payload`` (what ``request_hash`` was made from) also matches records written before
    fingerprints were keyed; ``also`` are other fingerprints the same request had in earlier
    versions (before its instants were read in UTC).
    """
    row = repository.find_record(session, program_id=program_id, key=key)
    if row is None:
        return None
    if row.request_hash not in (request_hash, *also) and (
        payload is None or row.request_hash != _legacy_fingerprint(payload)
    ):
        raise IdempotencyConflict(key=key.partition(":")[2] or key)
    return row.status_code, _unseal(program_id, key, row.response)


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
    repository.insert_record(
        session,
        program_id=program_id,
        key=key,
        request_hash=request_hash,
        status_code=status_code,
        response=_seal(program_id, key, response),
    )


@dataclass(frozen=True)
class Purge:
    """What a purge removed (or, in a dry run, would remove)."""

    records: int
    before: datetime


def purge(session: Session, *, program_id: int, before: datetime, dry_run: bool = False) -> Purge:
    """Delete the program's records created before ``before`` (count them only if ``dry_run``)."""
    count = repository.delete_before(session, program_id=program_id, before=before, dry_run=dry_run)
    return Purge(records=count, before=before)
