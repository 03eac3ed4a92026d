"""Points expiry: move what is left of expired lots to the expired account."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from memberkit.db import Database
from memberkit.ledger.models import PointsLot
from memberkit.ledger.service import expire_due
from memberkit.member.models import Member


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
    due = [PointsLot.expires_at <= as_of, PointsLot.remaining > 0]
    if program_id is not None:
        due.append(PointsLot.program_id == program_id)
    with database.session_scope() as session:
        members = list(
            session.scalars(
                select(PointsLot.member_id)
                .where(*due)
                .group_by(PointsLot.member_id)
                .order_by(PointsLot.member_id)
            )
        )
        lots = session.scalar(select(func.count()).where(*due)) or 0
    points = 0
    for done, member_id in enumerate(members, start=1):
        with database.session_scope(rollback=dry_run) as session:
            program_id = session.scalars(
                select(Member.program_id).where(Member.id == member_id).with_for_update()
            ).one()
            points += expire_member(
                session, program_id=program_id, member_id=member_id, as_of=as_of
            )
        if progress is not None:
            progress(done, len(members))
    return ExpiryRun(members=len(members), lots=lots, points=points)
