"""Points expiry: move what is left of expired lots to the expired account."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from memberkit.db import Database
from memberkit.ledger import repository as ledger_repository
from memberkit.ledger.service import expire_due
from memberkit.member import repository as member_repository


@dataclass(frozen=True)
class ExpiryRun:
    """What one expiry run did."""

    members: int
    lots: int
    points: int


def expire_member(session: Session, *, program_id: int, member_id: int, as_of: datetime) -> int:
    """Expire the member's lots due by ``as_of`` (see :func:`service.expire_due`)."""
    return expire_due(session, program_id=program_id, member_id=member_id, as_of=as_of)


def run(
    database: Database,
    *,
    as_of: datetime,
    program_id: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    dry_run: bool = False,
) -> ExpiryRun:
    """Expire every lot due by ``as_of``, one member per transaction (so a crash loses none).

    With ``program_id``, only that program's lots; else every program's.

    ``progress(done, total)`` is called after each member. A ``dry_run`` does the same work
    and rolls every transaction back: it reports what would expire and changes nothing.
    """
    with database.session_scope() as session:
        members = ledger_repository.members_with_due_lots(
            session, as_of=as_of, program_id=program_id
        )
        lots = ledger_repository.due_lot_count(session, as_of=as_of, program_id=program_id)
    points = 0
    for done, (owner, member_id) in enumerate(members, start=1):
        with database.session_scope(rollback=dry_run) as session:
            member_repository.lock_member(session, program_id=owner, member_id=member_id)
            points += expire_member(session, program_id=owner, member_id=member_id, as_of=as_of)
        if progress is not None:
            progress(done, len(members))
    return ExpiryRun(members=len(members), lots=lots, points=points)
