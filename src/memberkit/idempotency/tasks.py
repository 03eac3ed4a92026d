"""The daily purge of stored first responses past each program's retention period."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from memberkit.db import Database
from memberkit.idempotency import service
from memberkit.program import service as program_service
from memberkit.program.models import Program


def purge(database: Database, *, as_of: datetime, dry_run: bool = False) -> int:
    """Purge every program's records older than its ``idempotency_retention_days``.

    Returns how many records were deleted (or, with ``dry_run``, would be); safe to repeat.
    """
    with database.session_scope() as session:
        codes = session.scalars(select(Program.code).order_by(Program.id)).all()
        total = 0
        for code in codes:
            program = program_service.get(session, code)
            retention = timedelta(days=program.policies.idempotency_retention_days)
            total += service.purge(
                session, program_id=program.id, before=as_of - retention, dry_run=dry_run
            ).records
        if dry_run:
            session.rollback()
    return total
