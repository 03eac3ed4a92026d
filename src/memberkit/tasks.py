"""Every daily job, in the order they run: one registry, read by the scheduler and the CLI.

Each domain declares its jobs in its ``tasks.py`` (see :class:`memberkit.kit.tasks.Task`);
a new job is one more entry in :data:`TASKS`. A job runs once per program, for every program
in the database.
"""

from __future__ import annotations

from memberkit.analytics.tasks import REFRESH_RFM
from memberkit.coupon.tasks import BIRTHDAY_COUPONS
from memberkit.db import Database
from memberkit.forecast.tasks import REFIT_FORECAST
from memberkit.growth.tasks import DECAY_GROWTH
from memberkit.idempotency.tasks import PURGE_IDEMPOTENCY
from memberkit.kit.tasks import Task
from memberkit.ledger.tasks import EXPIRE_POINTS
from memberkit.program import service as program_service
from memberkit.program.queries import program_codes
from memberkit.program.service import ProgramConfig
from memberkit.segment.tasks import REFRESH_SEGMENTS
from memberkit.staff.tasks import PURGE_SESSIONS
from memberkit.tier.tasks import REVIEW_TIERS
from memberkit.webhook.tasks import PURGE_OUTBOX

#: In running order: decay comes before the review, which then judges the lowered growth;
#: the RFM refresh, the forecast and the segments come last, after the day's expiry and reviews.
TASKS: tuple[Task, ...] = (
    EXPIRE_POINTS,
    DECAY_GROWTH,
    REVIEW_TIERS,
    BIRTHDAY_COUPONS,
    PURGE_IDEMPOTENCY,
    PURGE_SESSIONS,
    PURGE_OUTBOX,
    REFRESH_RFM,
    # A heavy read of every order, after the day's changes to members are done.
    REFIT_FORECAST,
    # Last: rules may read the RFM classes, lifecycle and forecasts just refreshed.
    REFRESH_SEGMENTS,
)


def programs(database: Database) -> list[ProgramConfig]:
    """Return every program's current configuration, oldest program first."""
    with database.session_scope(read_only=True) as session:
        return [
            program_service.cached(database.engine, code) or program_service.get(session, code)
            for code in program_codes(session)
        ]
