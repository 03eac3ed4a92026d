"""Growth decay: members who earned no growth for a while lose a share of it.

Optional, set in the growth rules (``"decay": {"after_days": 365, "share": "0.2"}``). Growth
is refreshed by anything that credits it (an order, a behaviour) and by a decay itself, so a
member idle for years loses one share per ``after_days``, not all the missed shares at once.
Each decay is a visible ledger posting of kind ``decay``; it never moves a tier by itself (the
period-end review judges the lower growth).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy.orm import Session

from memberkit import events, pipeline
from memberkit.db import Database
from memberkit.growth.rules import Decay
from memberkit.kit import keys
from memberkit.kit.time import utcnow
from memberkit.ledger import repository as ledger_repository
from memberkit.ledger.models import AccountCode, TransactionKind
from memberkit.ledger.repository import ensure_system_accounts
from memberkit.ledger.service import Posting
from memberkit.member.models import MemberStatus
from memberkit.pipeline import Applied, EventKind
from memberkit.program.service import ProgramConfig


@dataclass(frozen=True)
class DecayRun:
    """What one decay run did."""

    members: int
    growth: int


def decay_member(
    session: Session, *, program: ProgramConfig, decay: Decay, member_id: int, as_of: datetime
) -> int:
    """Decay one member's growth if it is due by ``as_of``; returns the growth taken.

    Runs as a member event's ``post`` (see :func:`run`). The posting is keyed by the member
    and the instant the growth was last refreshed, so a rerun (for any date) takes nothing
    twice.
    """
    row = ledger_repository.growth_refreshed(
        session, program_id=program.id, member_id=member_id, now=utcnow()
    )
    if row is None or decay.due(row.refreshed_at) > as_of:
        return 0
    amount = decay.amount(row.balance)
    key = keys.decay(member_id, row.refreshed_at)
    done = ledger_repository.transaction_id_by_key(session, program_id=program.id, key=key)
    if not amount or done:
        return 0
    since = row.refreshed_at.astimezone(program.tz).date().isoformat()
    posting = Posting.open(
        session,
        program_id=program.id,
        member_id=member_id,
        kind=TransactionKind.decay,
        key=key,
        occurred_at=as_of,
        reason=f"no growth since {since}: {decay.share:%} decayed",
    )
    balance = posting.change_growth(-amount, counterpart=AccountCode.decayed)
    posting.finish()
    events.emit(
        session,
        program_id=program.id,
        type=events.EventType.growth_decayed,
        member_id=member_id,
        occurred_at=as_of,
        payload={"growth_decayed": amount, "growth_balance": balance, "since": since},
    )
    return amount


def _decay_applied(session: Session, applied: Applied, *, decay: Decay) -> int:
    """Decay the member of a job's event, unless their membership is closed."""
    if applied.member.status == MemberStatus.closed:
        return 0
    return decay_member(
        session, program=applied.program, decay=decay, member_id=applied.member.id, as_of=applied.at
    )


def run(
    database: Database,
    *,
    program: ProgramConfig,
    as_of: datetime,
    progress: Callable[[int, int], None] | None = None,
    dry_run: bool = False,
) -> DecayRun:
    """Decay the growth of every member due by ``as_of``, one member per transaction.

    Does nothing when the program sets no decay. ``progress(done, total)`` follows members.
    A ``dry_run`` does the same work and rolls every transaction back: it reports what would
    decay and changes nothing.
    """
    decay = program.decay
    if decay is None:
        return DecayRun(members=0, growth=0)
    cutoff = as_of - timedelta(days=decay.after_days)
    with database.session_scope() as session:
        ensure_system_accounts(session, program_id=program.id)
        due = ledger_repository.growth_idle_since(
            session, program_id=program.id, cutoff=cutoff, now=utcnow()
        )
    taken = pipeline.for_each_member(
        database,
        program=program,
        kind=EventKind.decay,
        member_ids=due,
        as_of=as_of,
        post=partial(_decay_applied, decay=decay),
        progress=progress,
        dry_run=dry_run,
    )
    members, growth = sum(1 for amount in taken if amount), sum(taken)
    return DecayRun(members=members, growth=growth)
