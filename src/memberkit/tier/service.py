"""Tiers: the facts a member is judged on, upgrade inside an event, period-end review."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, bindparam, case, func, insert, select, update
from sqlalchemy.orm import Session

from memberkit.config import settings
from memberkit.db import Database, table
from memberkit.errors import InvalidInput
from memberkit.kit.i18n import Text, _
from memberkit.kit.time import start_of_local_day
from memberkit.ledger.repository import member_balances
from memberkit.member.models import Member, MemberStatus
from memberkit.member.service import require_open
from memberkit.order.models import Order
from memberkit.program.service import ProgramConfig
from memberkit.tier.models import TierChange, TierChangeReason, TierNotice
from memberkit.tier.rules import Facts, Ladder
from memberkit.wallet.models import WalletRecharge

#: How far up a referral chain one event re-judges referrers.
MAX_REFERRAL_DEPTH = 5


@dataclass(frozen=True)
class TierOutcome:
    """A member's tier after an event, and whether the event moved it up."""

    level: int
    code: str
    name: str
    upgraded: bool


def facts(session: Session, *, ladder: Ladder, member_id: int, growth: int, at: datetime) -> Facts:
    """Load what the ladder's conditions read, as of ``at``.

    That is the spend and order count per window (net of refunds) and the spend of ``at``'s
    local day, in one query that is skipped when no condition reads orders; and the invitee
    counts, only when a condition reads them.
    """
    purchased, at_level = _invitees(session, ladder=ladder, member_id=member_id)
    recharged = _recharged(session, ladder=ladder, member_id=member_id, at=at)
    if not ladder.reads_orders():
        return Facts(
            growth=growth,
            invitees_purchased=purchased,
            invitees_at_level=at_level,
            recharged=recharged,
        )
    local_day = at.astimezone(settings.tz).date()
    day_start = datetime(local_day.year, local_day.month, local_day.day, tzinfo=settings.tz)
    windows = tuple(sorted(ladder.windows()))
    params: dict[str, object] = {"member": member_id, "at": at, "day_start": day_start}
    params.update({f"since_{days}": at - timedelta(days=days) for days in windows})
    params["earliest"] = min([day_start, *(at - timedelta(days=d) for d in windows)])
    row = session.connection().execute(_orders_facts(windows), params).one()
    return Facts(
        growth=growth,
        day_spend=int(row[0]),
        spend={days: int(row[1 + 2 * i]) for i, days in enumerate(windows)},
        orders={days: int(row[2 + 2 * i]) for i, days in enumerate(windows)},
        invitees_purchased=purchased,
        invitees_at_level=at_level,
        recharged=recharged,
    )


_ORDERS_FACTS: dict[tuple[int, ...], Select[Any]] = {}


def _orders_facts(windows: tuple[int, ...]) -> Select[Any]:
    """Return the orders aggregate of :func:`facts` for these windows, built once per set.

    Columns: the spend of the local day, then spend and order count per window.
    """
    statement = _ORDERS_FACTS.get(windows)
    if statement is not None:
        return statement
    orders = table(Order)
    net = orders.c.total_minor - orders.c.refunded_minor
    until = orders.c.occurred_at <= bindparam("at")
    today = and_(orders.c.occurred_at >= bindparam("day_start"), until)
    columns = [func.coalesce(func.sum(case((today, net), else_=0)), 0)]
    for days in windows:
        inside = and_(orders.c.occurred_at > bindparam(f"since_{days}"), until)
        columns.append(func.coalesce(func.sum(case((inside, net), else_=0)), 0))
        columns.append(func.coalesce(func.sum(case((inside, 1), else_=0)), 0))
    statement = select(*columns).where(
        orders.c.member_id == bindparam("member"), orders.c.occurred_at > bindparam("earliest")
    )
    _ORDERS_FACTS[windows] = statement
    return statement


def _recharged(session: Session, *, ladder: Ladder, member_id: int, at: datetime) -> dict[int, int]:
    """Sum the member's recharges per window read (none read: no query)."""
    windows = sorted(ladder.recharge_windows())
    if not windows:
        return {}
    recharges = table(WalletRecharge)
    columns = [
        func.coalesce(
            func.sum(
                case(
                    (recharges.c.occurred_at > at - timedelta(days=days), recharges.c.amount_minor),
                    else_=0,
                )
            ),
            0,
        )
        for days in windows
    ]
    row = (
        session.connection()
        .execute(
            select(*columns).where(
                recharges.c.member_id == member_id,
                recharges.c.occurred_at > at - timedelta(days=windows[-1]),
                recharges.c.occurred_at <= at,
            )
        )
        .one()
    )
    return {days: int(row[i]) for i, days in enumerate(windows)}


def _invitees(session: Session, *, ladder: Ladder, member_id: int) -> tuple[int, dict[int, int]]:
    """Count the member's invitees who bought, and who hold each level read (or above)."""
    levels = ladder.invitee_levels()
    if levels is None:
        return 0, {}
    members, orders = table(Member), table(Order)
    bought = select(orders.c.id).where(orders.c.member_id == members.c.id).exists()
    columns = [func.coalesce(func.sum(case((bought, 1), else_=0)), 0)]
    ordered = sorted(levels)
    columns += [
        func.coalesce(func.sum(case((members.c.tier_level >= level, 1), else_=0)), 0)
        for level in ordered
    ]
    row = (
        session.connection()
        .execute(select(*columns).where(members.c.referrer_id == member_id))
        .one()
    )
    return int(row[0]), {level: int(row[1 + i]) for i, level in enumerate(ordered)}


def upgrade_referrer(
    session: Session,
    *,
    program: ProgramConfig,
    member_id: int,
    at: datetime,
    key: str,
    depth: int = 0,
) -> TierOutcome | None:
    """Re-judge the member's referrer, when the ladder reads invitees at all.

    Called after what may count for the referrer (an invitee's purchase or upgrade); an
    upgrade of the referrer re-judges their own referrer in turn, a few levels up at most.
    Locks go from invitee to referrer, up a referral tree that has no cycles, so two such
    transactions cannot deadlock.
    """
    if program.ladder.invitee_levels() is None:
        return None
    row = session.execute(select(Member.referrer_id).where(Member.id == member_id)).one_or_none()
    if row is None or row.referrer_id is None:
        return None
    referrer = session.execute(
        select(Member.id, Member.tier_level, Member.status)
        .where(Member.id == row.referrer_id)
        .with_for_update()
    ).one()
    if referrer.status != MemberStatus.active:
        return None
    growth = member_balances(session, member_id=referrer.id).get("growth", 0)
    reached = upgrade_after_event(
        session,
        program=program,
        member_id=referrer.id,
        level=referrer.tier_level,
        growth=growth,
        at=at,
        key=key if depth == 0 else f"{key}:{depth}",
    )
    if reached.upgraded and depth < MAX_REFERRAL_DEPTH:
        # The referrer's upgrade may count for their own referrer in turn.
        upgrade_referrer(
            session, program=program, member_id=referrer.id, at=at, key=key, depth=depth + 1
        )
    return reached


_members = table(Member)
_SET_TIER = (
    update(_members)
    .where(_members.c.id == bindparam("member"))
    .values(
        tier_level=bindparam("level"),
        tier_since=bindparam("since"),
        tier_review_at=bindparam("review_at"),
    )
)
_INSERT_CHANGE = insert(table(TierChange))


def outcome(ladder: Ladder, level: int, *, upgraded: bool = False) -> TierOutcome:
    """Describe a level of the ladder."""
    tier = ladder.tiers[min(level, len(ladder.tiers) - 1)]
    return TierOutcome(tier.level, tier.code, tier.name, upgraded)


def upgrade_after_event(
    session: Session,
    *,
    program: ProgramConfig,
    member_id: int,
    level: int,
    growth: int,
    at: datetime,
    key: str,
    order_id: int | None = None,
) -> TierOutcome:
    """Move the member up at once if the event qualifies them for a higher tier.

    Runs inside the event's transaction, under the member's lock. Never moves a member down:
    that is the period-end review's job.
    """
    ladder = program.ladder
    if level >= len(ladder.tiers) - 1:
        return outcome(ladder, level)
    new_level = ladder.upgrade(
        level, facts(session, ladder=ladder, member_id=member_id, growth=growth, at=at)
    )
    if new_level == level:
        return outcome(ladder, level)
    connection = session.connection()
    connection.execute(
        _SET_TIER,
        {
            "member": member_id,
            "level": new_level,
            "since": at,
            "review_at": ladder.period_end(at, settings.tz),
        },
    )
    connection.execute(
        _INSERT_CHANGE,
        {
            "program_id": program.id,
            "member_id": member_id,
            "from_level": level,
            "to_level": new_level,
            "reason": TierChangeReason.upgrade,
            "idempotency_key": key,
            "order_id": order_id,
            "at": at,
        },
    )
    return outcome(ladder, new_level, upgraded=True)


def _judge(session: Session, *, ladder: Ladder, member: Member, at: datetime) -> tuple[int, int]:
    """Return the member's level on the ladder and the level a review judged at ``at`` gives."""
    growth = member_balances(session, member_id=member.id).get("growth", 0)
    judged = facts(session, ladder=ladder, member_id=member.id, growth=growth, at=at)
    level = min(member.tier_level, len(ladder.tiers) - 1)
    return level, ladder.review(level, judged)


def upgrade_after(
    session: Session,
    *,
    program: ProgramConfig,
    member_id: int,
    level: int,
    growth: int,
    at: datetime,
    key: str,
    order_id: int | None = None,
) -> TierOutcome:
    """Upgrade the member if the event keyed ``key`` qualifies them; re-judge their referrer.

    The tier moves are keyed ``<key>:tier`` and ``<key>:referrer-tier``.
    """
    reached = upgrade_after_event(
        session,
        program=program,
        member_id=member_id,
        level=level,
        growth=growth,
        at=at,
        key=f"{key}:tier",
        order_id=order_id,
    )
    upgrade_referrer(
        session, program=program, member_id=member_id, at=at, key=f"{key}:referrer-tier"
    )
    return reached


@dataclass(frozen=True)
class ReviewRun:
    """What one review run did."""

    reviewed: int
    kept: int
    downgraded: int
    notified: int = 0


def review(
    database: Database,
    *,
    program: ProgramConfig,
    as_of: datetime,
    progress: Callable[[int, int], None] | None = None,
    dry_run: bool = False,
) -> ReviewRun:
    """Review every member whose tier period ended by ``as_of``, one member per transaction.

    A member who meets the tier's retention rule keeps it for a new period; one who does not
    moves down (one tier, or to the tier they qualify for, as the ladder says). Each decision
    is keyed by the member and the period's end, so running the review again changes nothing.
    Grace notices for the reviews ahead are recorded first (see :func:`record_notices`).
    A ``dry_run`` does the same work and rolls every transaction back: it reports what the
    review would decide and which notices it would record, and changes nothing.
    """
    notified = record_notices(database, program=program, as_of=as_of, dry_run=dry_run)
    ladder = program.ladder
    with database.session_scope() as session:
        due = list(
            session.scalars(
                select(Member.id)
                .where(
                    Member.program_id == program.id,
                    Member.tier_level > 0,
                    Member.tier_review_at <= as_of,
                    Member.status != MemberStatus.closed,
                )
                .order_by(Member.id)
            )
        )
    kept = downgraded = 0
    for done, member_id in enumerate(due, start=1):
        with database.session_scope(rollback=dry_run) as session:
            member = session.scalars(
                select(Member).where(Member.id == member_id).with_for_update()
            ).one()
            review_at = member.tier_review_at
            if review_at is None or review_at > as_of or member.tier_level == 0:
                continue  # reviewed meanwhile
            level, new_level = _judge(session, ladder=ladder, member=member, at=review_at)
            session.connection().execute(
                _INSERT_CHANGE,
                {
                    "program_id": program.id,
                    "member_id": member.id,
                    "from_level": member.tier_level,
                    "to_level": new_level,
                    "reason": TierChangeReason.retained
                    if new_level == level
                    else TierChangeReason.downgrade,
                    "idempotency_key": f"review:{member.id}:{review_at.isoformat()}",
                    "order_id": None,
                    "at": review_at,
                },
            )
            member.tier_level = new_level
            member.tier_since = member.tier_since if new_level == level else review_at
            member.tier_review_at = ladder.period_end(review_at, settings.tz) if new_level else None
            if new_level == level:
                kept += 1
            else:
                downgraded += 1
        if progress is not None:
            progress(done, len(due))
    return ReviewRun(
        reviewed=kept + downgraded, kept=kept, downgraded=downgraded, notified=notified
    )


def record_notices(
    database: Database, *, program: ProgramConfig, as_of: datetime, dry_run: bool = False
) -> int:
    """Record grace notices; returns how many were recorded (or, ``dry_run``, would be).

    A notice goes to each member reviewed within the ladder's ``notice_days`` who, judged as
    of ``as_of``, would move down.
    At most one notice per member and review: a member not at risk today is judged again on
    the next run (spend windows slide, refunds and decay lower growth), one at risk is not.
    """
    ladder = program.ladder
    if not ladder.notice_days:
        return 0
    noticed = (
        select(TierNotice.id)
        .where(TierNotice.member_id == Member.id, TierNotice.review_at == Member.tier_review_at)
        .exists()
    )
    with database.session_scope() as session:
        ahead = list(
            session.scalars(
                select(Member.id)
                .where(
                    Member.program_id == program.id,
                    Member.tier_level > 0,
                    Member.tier_review_at > as_of,
                    Member.tier_review_at <= as_of + timedelta(days=ladder.notice_days),
                    Member.status != MemberStatus.closed,
                    ~noticed,
                )
                .order_by(Member.id)
            )
        )
    recorded = 0
    for member_id in ahead:
        with database.session_scope(rollback=dry_run) as session:
            member = session.scalars(
                select(Member).where(Member.id == member_id).with_for_update()
            ).one()
            review_at = member.tier_review_at
            if review_at is None or review_at <= as_of or member.tier_level == 0:
                continue  # moved meanwhile
            level, expected = _judge(session, ladder=ladder, member=member, at=as_of)
            if expected >= level or session.scalar(
                select(TierNotice.id).where(
                    TierNotice.member_id == member.id, TierNotice.review_at == review_at
                )
            ):
                continue
            session.add(
                TierNotice(
                    program_id=program.id,
                    member_id=member.id,
                    level=member.tier_level,
                    expected_level=expected,
                    review_at=review_at,
                    at=as_of,
                )
            )
            recorded += 1
    return recorded


@dataclass(frozen=True)
class NoticeView:
    """A grace notice: the review at ``review_at`` would move the member to ``expected``."""

    review_at: datetime
    expected: TierOutcome
    recorded_at: datetime


@dataclass(frozen=True)
class NoticeListing:
    """A grace notice with the member it is for and their tier now."""

    member_no: str
    tier: TierOutcome
    notice: NoticeView


def upcoming_notices(
    session: Session, *, program: ProgramConfig, offset: int, limit: int
) -> tuple[int, list[NoticeListing]]:
    """List grace notices of reviews not yet run, soonest review first; returns (total, page).

    Once the review has run (or the member has moved), the member's review date changes and
    the notice is no longer listed.
    """
    current = and_(
        TierNotice.member_id == Member.id,
        TierNotice.review_at == Member.tier_review_at,
        TierNotice.program_id == program.id,
    )
    total = session.scalar(select(func.count()).select_from(TierNotice).join(Member, current))
    rows = session.execute(
        select(
            Member.member_no,
            Member.tier_level,
            TierNotice.review_at,
            TierNotice.expected_level,
            TierNotice.at,
        )
        .join(Member, current)
        .order_by(TierNotice.review_at, Member.id)
        .offset(offset)
        .limit(limit)
    )
    ladder = program.ladder
    return int(total or 0), [
        NoticeListing(
            member_no,
            outcome(ladder, level),
            NoticeView(review_at, outcome(ladder, expected), recorded_at),
        )
        for member_no, level, review_at, expected, recorded_at in rows
    ]


def pending_notice(
    session: Session, *, ladder: Ladder, member_id: int, review_at: datetime | None
) -> NoticeView | None:
    """Return the grace notice recorded for the member's next review, if any."""
    if review_at is None:
        return None
    row = session.execute(
        select(TierNotice.expected_level, TierNotice.at).where(
            TierNotice.member_id == member_id, TierNotice.review_at == review_at
        )
    ).one_or_none()
    if row is None:
        return None
    return NoticeView(review_at, outcome(ladder, row.expected_level), row.at)


class UnknownTier(InvalidInput):
    """A tier code that is not on the ladder."""

    code = "unknown_tier"
    message = _("{tier} is not a tier of this program (tiers: {tiers}).")


def grant(
    session: Session,
    *,
    program: ProgramConfig,
    member: Member,
    tier_code: str,
    last_day: date,
    note: str,
    actor: str,
    key: str,
    now: datetime,
) -> TierOutcome:
    """Set a member's tier by hand (up or down) through ``last_day`` (local, inclusive).

    The review judges the member at the local midnight after it. Closed members cannot be
    granted a tier. The caller holds the member's lock and makes the call idempotent by ``key``.
    """
    require_open(member)
    until = start_of_local_day(last_day + timedelta(days=1))
    ladder = program.ladder
    codes = [tier.code for tier in ladder.tiers]
    if tier_code not in codes:
        raise UnknownTier(tier=tier_code, tiers=", ".join(codes))
    if until <= now:
        raise InvalidGrant(problem=Text(_("the grant must end after today")))
    level = codes.index(tier_code)
    session.connection().execute(
        _INSERT_CHANGE,
        {
            "program_id": program.id,
            "member_id": member.id,
            "from_level": member.tier_level,
            "to_level": level,
            "reason": TierChangeReason.grant,
            "idempotency_key": key,
            "order_id": None,
            "at": now,
            "note": note,
            "actor": actor,
        },
    )
    member.tier_level = level
    member.tier_since = now
    member.tier_review_at = until if level else None
    session.flush()
    return outcome(ladder, level, upgraded=False)


class InvalidGrant(InvalidInput):
    """A grant that cannot be applied."""

    code = "invalid_grant"
    message = _("Invalid tier grant: {problem}")


@dataclass(frozen=True)
class TierChangeView:
    """One entry of a member's tier history."""

    from_code: str
    to_code: str
    reason: str
    at: datetime
    note: str | None
    actor: str | None


def history(
    session: Session, *, ladder: Ladder, member_id: int, limit: int = 100
) -> list[TierChangeView]:
    """Return the member's tier moves, newest first."""
    rows = session.execute(
        select(
            TierChange.from_level,
            TierChange.to_level,
            TierChange.reason,
            TierChange.at,
            TierChange.note,
            TierChange.actor,
        )
        .where(TierChange.member_id == member_id)
        .order_by(TierChange.id.desc())
        .limit(limit)
    )
    return [
        TierChangeView(outcome(ladder, f).code, outcome(ladder, t).code, reason, at, note, actor)
        for f, t, reason, at, note, actor in rows
    ]
