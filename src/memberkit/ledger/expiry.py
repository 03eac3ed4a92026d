"""Points expiry: move what is left of expired lots to the expired account."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from memberkit import pipeline
from memberkit.db import Database
from memberkit.ledger import repository as ledger_repository
from memberkit.pipeline import EventKind
from memberkit.program.service import ProgramConfig


@dataclass(frozen=True)
class ExpiryRun:
    """What one expiry run did."""

    members: int
    lots: int
    points: int


def run(
    database: Database,
    *,
    program: ProgramConfig,
    as_of: datetime,
    progress: Callable[[int, int], None] | None = None,
    dry_run: bool = False,
) -> ExpiryRun:
    """Expire the program's lots due by ``as_of``, one member per transaction (a crash loses none).

    Each member's expiry is a member event (:mod:`memberkit.pipeline`): locked, expired lot by
    lot, told as ``points.expired``, whatever the member's status.

    ``progress(done, total)`` is called after each member. A ``dry_run`` does the same work
    and rolls every transaction back: it reports what would expire and changes nothing.
    """
    with database.session_scope() as session:
        members = ledger_repository.members_with_due_lots(
            session, as_of=as_of, program_id=program.id
        )
        lots = ledger_repository.due_lot_count(session, as_of=as_of, program_id=program.id)
    expired = pipeline.for_each_member(
        database,
        program=program,
        kind=EventKind.expiry,
        member_ids=[member_id for _owner, member_id in members],
        as_of=as_of,
        post=lambda _session, applied: applied.expired,
        progress=progress,
        dry_run=dry_run,
    )
    points = sum(expired)
    return ExpiryRun(members=len(members), lots=lots, points=points)
