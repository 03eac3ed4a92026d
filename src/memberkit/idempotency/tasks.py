"""The daily purge of stored first responses past the program's retention period."""

from __future__ import annotations

from datetime import datetime, timedelta

from memberkit.db import Database
from memberkit.idempotency import service
from memberkit.kit.i18n import Text, _
from memberkit.kit.tasks import Outcome, Progress, Task
from memberkit.program.service import ProgramConfig


def purge(
    database: Database,
    *,
    program: ProgramConfig,
    as_of: datetime,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> Outcome:
    """Purge the program's records older than its ``idempotency_retention_days``; safe to repeat.

    Duplicates stay refused after it by the business keys (order external id, phone).
    """
    retention = timedelta(days=program.policies.idempotency_retention_days)
    with database.session_scope(rollback=dry_run) as session:
        records = service.purge(
            session, program_id=program.id, before=as_of - retention, dry_run=dry_run
        ).records
    said = (
        _("Dry run: {records} idempotency records would be purged.")
        if dry_run
        else _("{records} idempotency records purged.")
    )
    return Outcome((Text(said, records=records),))


PURGE_IDEMPOTENCY = Task(
    name="purge-idempotency",
    help="Delete stored first responses older than the program's retention period; safe to "
    "repeat.\n\nDuplicates stay refused after it by the business keys (order external id, phone).",
    run=purge,
    dry_run_help="Only count what would be purged.",
    says_nothing_changed=False,
)
