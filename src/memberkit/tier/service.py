"""Tiers: the facts a member is judged on, upgrade inside an event, period-end review."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from memberkit import events, pipeline
from memberkit.db import Database
from memberkit.errors import Conflict, InvalidInput
from memberkit.kit import keys
from memberkit.kit.i18n import Text, _
from memberkit.kit.time import Timing, iso, start_of_local_day, utcnow
from memberkit.ledger.models import Asset
from memberkit.ledger.repository import member_balances
from memberkit.member import repository as member_repository
from memberkit.member.models import Member, MemberStatus
from memberkit.member.repository import MemberKey
from memberkit.member.service import MemberRef, require_open
from memberkit.member.service import TierOutcome as TierOutcome
from memberkit.order import queries as order_queries
from memberkit.order.settings import HISTORY
from memberkit.pipeline import Applied
from memberkit.program import service as program_service
from memberkit.program.service import ProgramConfig
from memberkit.tier import queries, repository
from memberkit.tier.models import TierChangeReason, TierNotice
from memberkit.tier.queries import TierChangeView
from memberkit.tier.repository import Move
from memberkit.tier.rules import Facts, Ladder
from memberkit.wallet import queries as wallet_queries

#: How far up a referral chain one event re-judges referrers.
MAX_REFERRAL_DEPTH = 5


def counts_history(program: ProgramConfig) -> bool:
    """Whether the program's history orders count in tier conditions (``counts_for_tiers``)."""
    return program.section(HISTORY).counts_for_tiers


def facts(
    session: Session,
    *,
    ladder: Ladder,
    member_id: int,
    growth: int,
    at: datetime,
    tz: ZoneInfo,
    history: bool = False,
) -> Facts:
    """Load what the ladder's conditions read, as of ``at``.

    Orders are live ones, and history ones with ``history`` (:func:`counts_history`).

    That is the spend per window (net of refunds), the count of orders not fully refunded
    per window, and the spend of ``at``'s
    local day, in one query that is skipped when no condition reads orders; and the invitee
    counts, only when a condition reads them.
    """
    purchased, at_level = _invitees(session, ladder=ladder, member_id=member_id, history=history)
    recharged = _recharged(session, ladder=ladder, member_id=member_id, at=at)
    if not ladder.reads_orders():
        return Facts(
            growth=growth,
            invitees_purchased=purchased,
            invitees_at_level=at_level,
            recharged=recharged,
        )
    local_day = at.astimezone(tz).date()
    day_start = datetime(local_day.year, local_day.month, local_day.day, tzinfo=tz)
    windows = tuple(sorted(ladder.windows()))
    row = order_queries.spend_facts(
        session,
        member_id=member_id,
        at=at,
        day_start=day_start,
        windows=windows,
        history=history,
    )
    return Facts(
        growth=growth,
        day_spend=int(row[0]),
        spend={days: int(row[1 + 2 * i]) for i, days in enumerate(windows)},
        orders={days: int(row[2 + 2 * i]) for i, days in enumerate(windows)},
        invitees_purchased=purchased,
        invitees_at_level=at_level,
        recharged=recharged,
    )


def _recharged(session: Session, *, ladder: Ladder, member_id: int, at: datetime) -> dict[int, int]:
    """Sum the member's recharges per window read (none read: no query)."""
    return wallet_queries.recharged_per_window(
        session, member_id=member_id, at=at, windows=tuple(ladder.recharge_windows())
    )


def _invitees(
    session: Session, *, ladder: Ladder, member_id: int, history: bool
) -> tuple[int, dict[int, int]]:
    """Count the member's invitees who bought, and who hold each level read (or above).

    An invitee whose every order was fully refunded has not bought.
    """
    levels = ladder.invitee_levels()
    if levels is None:
        return 0, {}
    return order_queries.invitee_counts(
        session,
        member_id=member_id,
        tiers_from={level: ladder.codes_from(level) for level in levels},
        history=history,
    )


def upgrade_referrer(
    session: Session,
    *,
    program: ProgramConfig,
    member_id: int,
    at: datetime,
    key: str,
    now: datetime | None = None,
    order_id: int | None = None,
    depth: int = 0,
) -> TierOutcome | None:
    """Re-judge the member's referrer, when the ladder reads invitees at all.

    Called after what may count for the referrer (an invitee's purchase or upgrade); an
    upgrade of the referrer re-judges their own referrer in turn, a few levels up at most.
    An upgrade records the invitee's order that caused it (``order_id``), so that its refund
    can undo it. Locks go from invitee to referrer, up a referral tree that has no cycles, so
    two such transactions cannot deadlock.
    """
    if program.ladder.invitee_levels() is None:
        return None
    referrer_id = member_repository.referrer_id(session, member_id=member_id)
    if referrer_id is None:
        return None
    referrer = member_repository.lock_member(session, program_id=program.id, member_id=referrer_id)
    if referrer.status != MemberStatus.active:
        return None
    growth = member_balances(session, member_id=referrer.id).get("growth", 0)
    reached = upgrade_after_event(
        session,
        program=program,
        member_id=referrer.id,
        code=referrer.tier_code,
        growth=growth,
        at=at,
        key=key if depth == 0 else f"{key}:{depth}",
        now=now,
        order_id=order_id,
    )
    if reached.upgraded and depth < MAX_REFERRAL_DEPTH:
        # The referrer's upgrade may count for their own referrer in turn.
        upgrade_referrer(
            session,
            program=program,
            member_id=referrer.id,
            at=at,
            key=key,
            now=now,
            order_id=order_id,
            depth=depth + 1,
        )
    return reached


def outcome(
    ladder: Ladder, code: str, *, upgraded: bool = False, reverted: bool = False
) -> TierOutcome:
    """Describe the tier ``code`` of the ladder."""
    return TierOutcome.of(ladder.tier(code), upgraded=upgraded, reverted=reverted)


def _record(session: Session, *, program_id: int, move: Move) -> None:
    """Set the member's tier and dates and append the move to their tier history."""
    repository.record_move(session, program_id=program_id, move=move)
    if move.from_code != move.to_code:
        events.emit(
            session,
            program_id=program_id,
            type=events.EventType.tier_changed,
            member_id=move.member_id,
            occurred_at=move.at,
            payload=_changed(move),
        )


def _changed(move: Move) -> dict[str, object]:
    """The ``tier.changed`` payload: from and to which tier, why, and the new tier's dates."""
    return {
        "from_tier": move.from_code,
        "to_tier": move.to_code,
        "reason": str(move.reason),
        "since": iso(move.since),
        "review_at": iso(move.review_at),
        "order_id": str(move.order_id) if move.order_id else None,
    }


def upgrade_dates(
    ladder: Ladder,
    *,
    at: datetime,
    now: datetime,
    since: datetime | None,
    review_at: datetime | None,
    tz: ZoneInfo,
) -> tuple[datetime, datetime]:
    """Return the tier dates of an upgrade caused by an event at ``at``, recorded at ``now``.

    A back-dated event never moves tier dates into the past: the new tier holds from the
    event, but not before the tier it replaces began (``since``), and its review is a whole
    period after the upgrade is made, never earlier than the review already set.
    """
    start = at if since is None else max(at, since)
    review = ladder.period_end(max(start, now), tz)
    return start, review if review_at is None else max(review, review_at)


def upgrade_after_event(
    session: Session,
    *,
    program: ProgramConfig,
    member_id: int,
    code: str,
    growth: int,
    at: datetime,
    key: str,
    order_id: int | None = None,
    now: datetime | None = None,
) -> TierOutcome:
    """Move the member up at once if the event qualifies them for a higher tier.

    Runs inside the event's transaction, under the member's lock. Never moves a member down:
    that is the period-end review's job (or a refund's, see :func:`revert_after_refund`).
    ``now`` is when the event is processed (history replayed gives its own; default: now);
    it sets the tier dates with the event's time ``at`` (see :func:`upgrade_dates`).
    """
    ladder = program.ladder
    level = ladder.level_of(code)
    if level >= len(ladder.tiers) - 1:
        return outcome(ladder, code)
    judged = facts(
        session,
        ladder=ladder,
        member_id=member_id,
        growth=growth,
        at=at,
        tz=program.tz,
        history=counts_history(program),
    )
    new_level = ladder.upgrade(level, judged)
    if new_level == level:
        return outcome(ladder, code)
    dates = repository.tier_dates(session, member_id=member_id)
    since, review_at = upgrade_dates(
        ladder,
        at=at,
        now=now or utcnow(),
        since=dates.tier_since,
        review_at=dates.tier_review_at,
        tz=program.tz,
    )
    new_code = ladder.tiers[new_level].code
    _record(
        session,
        program_id=program.id,
        move=Move(
            member_id=member_id,
            from_code=code,
            to_code=new_code,
            reason=TierChangeReason.upgrade,
            key=key,
            at=at,
            since=since,
            review_at=review_at,
            order_id=order_id,
        ),
    )
    return outcome(ladder, new_code, upgraded=True)


def _judge(
    session: Session, *, program: ProgramConfig, member: Member | MemberKey, at: datetime
) -> tuple[int, int]:
    """Return the member's level on the ladder and the level a review judged at ``at`` gives."""
    ladder = program.ladder
    growth = member_balances(session, member_id=member.id).get("growth", 0)
    judged = facts(
        session,
        ladder=ladder,
        member_id=member.id,
        growth=growth,
        at=at,
        tz=program.tz,
        history=counts_history(program),
    )
    level = ladder.level_of(member.tier_code)
    return level, ladder.review(level, judged)


def upgrade_after(
    session: Session,
    *,
    program: ProgramConfig,
    member_id: int,
    code: str,
    growth: int,
    at: datetime,
    key: str,
    order_id: int | None = None,
    now: datetime | None = None,
) -> TierOutcome:
    """Upgrade the member if the event keyed ``key`` qualifies them; re-judge their referrer.

    ``code`` is the member's tier before the event, ``now`` when it is processed. The tier
    moves are keyed ``<key>:tier`` and ``<key>:referrer-tier``.
    """
    reached = upgrade_after_event(
        session,
        program=program,
        member_id=member_id,
        code=code,
        growth=growth,
        at=at,
        key=keys.tier_move(key),
        order_id=order_id,
        now=now,
    )
    upgrade_referrer(
        session,
        program=program,
        member_id=member_id,
        at=at,
        key=keys.referrer_tier_move(key),
        now=now,
        order_id=order_id,
    )
    return reached


#: Moves a refund may look back through: upgrades, and the refunds that undid some of them.
_RUN = (TierChangeReason.upgrade, TierChangeReason.refund)
#: How many recent moves a refund looks back through at most.
_RUN_LIMIT = 200


@dataclass(frozen=True)
class _Standing:
    """A tier the member may be left with after a refund, and its dates."""

    level: int
    code: str
    since: datetime | None
    review_at: datetime | None


def revert_after_refund(
    session: Session,
    *,
    program: ProgramConfig,
    member_id: int,
    order_id: int,
    at: datetime,
    key: str,
) -> TierOutcome:
    """Move the member back when a refund of the order undid the upgrade it gave them.

    Called at the end of a refund of order ``order_id``, under the member's lock, after the
    ledger posting (growth and the order's refunded amount are already net of it). Returns
    the member's tier. When the ladder reads invitees, the member's referrers are judged
    again the same way, up the chain while one moves back (locks go up the referral tree,
    as upgrades take them); their moves are keyed ``<key>:referrer`` (``:<depth>`` above).
    """
    reached = _revert(
        session, program=program, member_id=member_id, order_id=order_id, at=at, key=key
    )
    if program.ladder.invitee_levels() is None:
        return reached
    invitee = member_id
    for depth in range(MAX_REFERRAL_DEPTH + 1):
        referrer_id = member_repository.referrer_id(session, member_id=invitee)
        if referrer_id is None:
            break
        member_repository.lock_member(session, program_id=program.id, member_id=referrer_id)
        moved = _revert(
            session,
            program=program,
            member_id=referrer_id,
            order_id=order_id,
            at=at,
            key=keys.referrer_revert(key, depth),
        )
        if not moved.reverted:
            break
        invitee = referrer_id
    return reached


def _revert(
    session: Session,
    *,
    program: ProgramConfig,
    member_id: int,
    order_id: int,
    at: datetime,
    key: str,
) -> TierOutcome:
    """Move one member back if a refund of order ``order_id`` undid an upgrade (see above).

    The upgrades it may undo are those since the member's last move of another kind (a
    grant, a review, a ladder change: a grant by hand is never undone), from the first one
    caused by an order at or after the refunded one, or by an order refunded earlier. Each
    is judged again as of its own moment, with refunds netted out and today's growth; the
    member keeps the highest tier still met then (or met now), else goes back to the tier
    and dates they had before. A move down is recorded with reason ``refund`` and keyed
    ``key``. Nothing happens when the ladder's ``refund_reverts_upgrade`` is off.
    """
    ladder = program.ladder
    member = repository.tier_state(session, member_id=member_id)
    current = ladder.level_of(member.tier_code)
    if not ladder.refund_reverts_upgrade or current == 0:
        return outcome(ladder, member.tier_code)
    recent = repository.recent_moves(session, member_id=member_id, limit=_RUN_LIMIT)
    run = []
    before = None  # the move that ended the run: the member's standing when it began
    for change in recent:
        if change.reason not in _RUN:
            before = change
            break
        run.append(change)
    run.reverse()
    by_orders = {c.order_id for c in run if c.reason == TierChangeReason.upgrade and c.order_id}
    refunded = order_queries.refunded_among(session, order_ids=by_orders)
    first = next(
        (
            index
            for index, change in enumerate(run)
            if change.reason == TierChangeReason.upgrade
            and change.order_id is not None
            and (change.order_id >= order_id or change.order_id in refunded)
        ),
        None,
    )
    if first is None:
        return outcome(ladder, member.tier_code)
    if first:
        before = run[first - 1]
    start = run[first]
    growth = member_balances(session, member_id=member_id).get("growth", 0)

    def still_met(moment: datetime, cap: int) -> int:
        judged = facts(
            session,
            ladder=ladder,
            member_id=member_id,
            growth=growth,
            at=moment,
            tz=program.tz,
            history=counts_history(program),
        )
        return min(cap, ladder.qualified(judged))

    base = ladder.level_of(start.from_code)  # a tier since dropped counts as the entry tier
    standings = [
        _Standing(
            base,
            ladder.tiers[base].code,
            before.since if before is not None else None,
            before.review_at if before is not None else None,
        )
    ]
    for change in run[first:]:
        if change.reason == TierChangeReason.upgrade:
            level = still_met(change.at, ladder.level_of(change.to_code))
            standings.append(
                _Standing(level, ladder.tiers[level].code, change.since, change.review_at)
            )
    level = still_met(at, current)
    standings.append(_Standing(level, ladder.tiers[level].code, start.since, start.review_at))
    kept = max(standings, key=lambda standing: standing.level)  # the first of the highest
    if kept.level >= current:
        return outcome(ladder, member.tier_code)
    # Moves recorded before their dates were kept (since is None): the dates the member has.
    since = kept.since if kept.level == 0 or kept.since is not None else member.tier_since
    review_at = None if kept.level == 0 else kept.review_at or member.tier_review_at
    _record(
        session,
        program_id=program.id,
        move=Move(
            member_id=member_id,
            from_code=member.tier_code,
            to_code=kept.code,
            reason=TierChangeReason.refund,
            key=key,
            at=at,
            since=since,
            review_at=review_at,
            order_id=order_id,
        ),
    )
    return outcome(ladder, kept.code, reverted=True)


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
        due = repository.due_for_review(
            session, program_id=program.id, entry_code=ladder.entry.code, as_of=as_of
        )
    decided = pipeline.for_each_member(
        database,
        program=program,
        kind=pipeline.EventKind.review,
        member_ids=due,
        as_of=as_of,
        post=_review_member,
        progress=progress,
        dry_run=dry_run,
    )
    reasons = [move.reason for move in decided if move is not None]
    kept = reasons.count(TierChangeReason.retained)
    downgraded = reasons.count(TierChangeReason.downgrade)
    return ReviewRun(
        reviewed=kept + downgraded, kept=kept, downgraded=downgraded, notified=notified
    )


def _review_member(session: Session, applied: Applied) -> Move | None:
    """Review the member of a job's event if their tier period ended by then; the move made.

    Keeps the tier for a new period or moves it down; nothing when the member was reviewed
    (or moved to the entry tier) meanwhile.
    """
    program, member, as_of = applied.program, applied.member, applied.at
    ladder = program.ladder
    dates = repository.tier_dates(session, member_id=member.id)
    review_at = dates.tier_review_at
    if review_at is None or review_at > as_of or ladder.level_of(member.tier_code) == 0:
        return None
    level, new_level = _judge(session, program=program, member=member, at=review_at)
    move = Move(
        member_id=member.id,
        from_code=member.tier_code,
        to_code=ladder.tiers[new_level].code,
        reason=TierChangeReason.retained if new_level == level else TierChangeReason.downgrade,
        key=keys.review(member.id, review_at),
        at=review_at,
        since=dates.tier_since if new_level == level else review_at,
        review_at=ladder.period_end(review_at, program.tz) if new_level else None,
    )
    _record(session, program_id=program.id, move=move)
    return move


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
    with database.session_scope() as session:
        ahead = repository.to_notify(
            session,
            program_id=program.id,
            entry_code=ladder.entry.code,
            after=as_of,
            until=as_of + timedelta(days=ladder.notice_days),
        )
    told = pipeline.for_each_member(
        database,
        program=program,
        kind=pipeline.EventKind.notice,
        member_ids=ahead,
        as_of=as_of,
        post=_notify_member,
        dry_run=dry_run,
    )
    recorded = sum(told)
    return recorded


def _notify_member(session: Session, applied: Applied) -> bool:
    """Record a grace notice for the member of a job's event; whether one was recorded.

    One is when the review ahead would move the member down and none is recorded yet.
    """
    program, member, as_of = applied.program, applied.member, applied.at
    ladder = program.ladder
    review_at = repository.tier_dates(session, member_id=member.id).tier_review_at
    if review_at is None or review_at <= as_of or ladder.level_of(member.tier_code) == 0:
        return False  # moved meanwhile
    level, expected = _judge(session, program=program, member=member, at=as_of)
    if expected >= level or repository.notice_recorded(
        session, member_id=member.id, review_at=review_at
    ):
        return False
    repository.add_notice(
        session,
        notice=TierNotice(
            program_id=program.id,
            member_id=member.id,
            tier_code=member.tier_code,
            expected_code=ladder.tiers[expected].code,
            review_at=review_at,
            at=as_of,
        ),
    )
    events.emit(
        session,
        program_id=program.id,
        type=events.EventType.tier_notice,
        member_id=member.id,
        occurred_at=as_of,
        payload={
            "tier": member.tier_code,
            "expected_tier": ladder.tiers[expected].code,
            "review_at": iso(review_at),
        },
    )
    return True


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

    Once the review has run (or the member has moved), the member's review date or tier
    changes and the notice is no longer listed.
    """
    total, rows = queries.upcoming_notices(
        session, program_id=program.id, offset=offset, limit=limit
    )
    ladder = program.ladder
    return total, [
        NoticeListing(
            member_no,
            outcome(ladder, code),
            NoticeView(review_at, outcome(ladder, expected), recorded_at),
        )
        for member_no, code, review_at, expected, recorded_at in rows
    ]


def pending_notice(
    session: Session, *, ladder: Ladder, member_id: int, review_at: datetime | None
) -> NoticeView | None:
    """Return the grace notice recorded for the member's next review, if any."""
    if review_at is None:
        return None
    row = queries.pending_notice(session, member_id=member_id, review_at=review_at)
    if row is None:
        return None
    return NoticeView(review_at, outcome(ladder, row.expected_code), row.at)


class UnknownTier(InvalidInput):
    """A tier code that is not on the ladder."""

    code = "unknown_tier"
    message = _("{tier} is not a tier of this program (tiers: {tiers}).")


class GrantMovesDown(Conflict):
    """A grant below the member's tier, sent without ``allow_down``."""

    code = "grant_moves_down"
    message = _(
        "The grant would move member {member_no} down from {current} to {tier}; "
        "send allow_down: true to do so."
    )


class GrantExists(Conflict):
    """A grant's key was recorded already (its idempotency record since purged)."""

    code = "grant_exists"
    message = _("Tier grant {key} of member {member_no} was made already; see the tier history.")


def grant(
    session: Session,
    *,
    program: ProgramConfig,
    member: Member | MemberKey,
    tier_code: str,
    last_day: date,
    note: str,
    actor: str,
    key: str,
    now: datetime,
    allow_down: bool = False,
) -> TierOutcome:
    """Set a member's tier by hand through ``last_day`` (local, inclusive).

    A grant below the member's tier is refused unless ``allow_down``. The review judges the
    member at the local midnight after ``last_day``; a refund never undoes a grant. Closed
    members cannot be granted a tier. The caller holds the member's lock and makes the call
    idempotent by ``key``; a key recorded already is refused, so a repeat that comes after
    its idempotency record was purged grants nothing twice.
    """
    if repository.move_id_by_key(session, program_id=program.id, key=key):
        raise GrantExists(key=key, member_no=member.member_no)
    require_open(member)
    until = start_of_local_day(last_day + timedelta(days=1), program.tz)
    ladder = program.ladder
    if not ladder.has(tier_code):
        raise UnknownTier(tier=tier_code, tiers=", ".join(t.code for t in ladder.tiers))
    if until <= now:
        raise InvalidGrant(problem=Text(_("the grant must end after today")))
    level = ladder.level_of(tier_code)
    if level < ladder.level_of(member.tier_code) and not allow_down:
        raise GrantMovesDown(member_no=member.member_no, current=member.tier_code, tier=tier_code)
    _record(
        session,
        program_id=program.id,
        move=Move(
            member_id=member.id,
            from_code=member.tier_code,
            to_code=tier_code,
            reason=TierChangeReason.grant,
            key=key,
            at=now,
            since=now,
            review_at=until if level else None,
            note=note,
            actor=actor,
        ),
    )
    if isinstance(member, Member):
        session.expire(member)
    return outcome(ladder, tier_code)


def grant_tier(
    session: Session,
    *,
    program: ProgramConfig,
    member_no: str,
    tier_code: str,
    last_day: date,
    note: str,
    actor: str,
    key: str,
    now: datetime,
    allow_down: bool = False,
) -> TierOutcome:
    """Grant member ``member_no`` a tier through ``last_day``: :func:`grant`, as an event."""
    _applied, reached = pipeline.apply(
        session,
        program=program,
        kind=pipeline.EventKind.grant,
        key=key,
        member=MemberRef(member_no=member_no),
        timing=Timing(now),
        at=now,
        post=lambda session, applied: grant(
            session,
            program=program,
            member=applied.member,
            tier_code=tier_code,
            last_day=last_day,
            note=note,
            actor=actor,
            key=key,
            now=now,
            allow_down=allow_down,
        ),
        # grant() checks the key before the status, so a late repeat is told it was made.
        requires=pipeline.Requires.any,
    )
    return reached


class InvalidGrant(InvalidInput):
    """A grant that cannot be applied."""

    code = "invalid_grant"
    message = _("Invalid tier grant: {problem}")


class InvalidMoves(InvalidInput):
    """``moves`` of a ladder change that do not fit the new ladder."""

    code = "invalid_tier_moves"
    message = _("Invalid tier moves: {problem}")


class TiersInUse(Conflict):
    """A new ladder drops (or renames) tiers members hold, and ``moves`` does not say where."""

    code = "tiers_in_use"
    message = _(
        "Members hold tiers the new ladder does not have: {tiers}. Say where they go in "
        'moves, e.g. "moves": {{"{example}": "{entry}"}}.'
    )


def replace_ladder(
    session: Session,
    *,
    program: ProgramConfig,
    config: dict[str, Any],
    moves: Mapping[str, str],
    now: datetime,
    actor: str | None = None,
) -> ProgramConfig:
    """Replace the program's tier ladder; members keep their tiers by code.

    A ladder that drops or renames a tier some member holds (closed members included) is
    refused with ``tiers_in_use`` unless ``moves`` names, for each such tier, a tier of the new
    ladder its members go to. Each move is recorded in the member's history with reason
    ``ladder_change``; a member moved to the entry tier has no review, one moved to another
    tier keeps their review date (or gets a whole period when they had none).
    """
    new = program_service.configure(session, program=program, tier_ladder=config)
    ladder = new.ladder
    for source, target in sorted(moves.items()):
        if ladder.has(source):
            raise InvalidMoves(
                problem=Text(
                    _("{tier} is on the new ladder; moves are for tiers it drops"), tier=source
                )
            )
        if not ladder.has(target):
            raise InvalidMoves(
                problem=Text(_("{tier} is not a tier of the new ladder"), tier=target)
            )
    held = repository.tiers_held(session, program_id=program.id)
    stranded = [(code, count) for code, count in held if not ladder.has(code) and code not in moves]
    if stranded:
        raise TiersInUse(
            tiers=", ".join(f"{code} ({count})" for code, count in stranded),
            example=stranded[0][0],
            entry=ladder.entry.code,
        )
    stamp = uuid.uuid4().hex[:12]
    a_period = ladder.period_end(now, program.tz)
    for source, target in sorted(moves.items()):
        entry = ladder.level_of(target) == 0
        moved = repository.move_all(
            session,
            program_id=program.id,
            source=source,
            target=target,
            entry=entry,
            key_prefix=f"ladder:{stamp}",
            now=now,
            period_end=a_period,
            actor=actor,
        )
        if not moved:
            continue
        events.emit_many(
            session,
            program_id=program.id,
            type=events.EventType.tier_changed,
            events=[
                (
                    member_id,
                    now,
                    _changed(
                        Move(
                            member_id=member_id,
                            from_code=source,
                            to_code=target,
                            reason=TierChangeReason.ladder_change,
                            key="",
                            at=now,
                            since=now,
                            review_at=review_at,
                        )
                    ),
                )
                for member_id, review_at in moved
            ],
        )
    return new


def history(session: Session, *, member_id: int, limit: int = 100) -> list[TierChangeView]:
    """Return the member's tier moves, newest first."""
    return queries.history(session, member_id=member_id, limit=limit)


def upgrade_on_gain(session: Session, applied: Applied) -> None:
    """React to an earning event: upgrade the member if it qualifies them; re-judge referrers."""
    applied.tier = upgrade_after(
        session,
        program=applied.program,
        member_id=applied.member.id,
        code=applied.member.tier_code,
        growth=applied.balance(session, Asset.growth),
        at=applied.at,
        key=applied.key,
        order_id=applied.order_id,
        now=applied.now,
    )


def revert_on_refund(session: Session, applied: Applied) -> None:
    """React to a refund: move the member back if it undid the upgrade its order gave."""
    assert applied.order_id is not None, "a refund reverses an order"
    applied.tier = revert_after_refund(
        session,
        program=applied.program,
        member_id=applied.member.id,
        order_id=applied.order_id,
        at=applied.at,
        key=keys.tier_move(applied.key),
    )
