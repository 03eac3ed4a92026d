"""Tier writes and the reads tier use cases decide on: moves, history look-backs, notices."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Row, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from memberkit.db import table
from memberkit.member.models import Member, MemberStatus
from memberkit.tier.models import TierChange, TierChangeReason, TierNotice


@dataclass(frozen=True)
class Move:
    """One move of a member between tiers, with the tier dates it sets."""

    member_id: int
    from_code: str
    to_code: str
    reason: TierChangeReason
    key: str
    at: datetime
    since: datetime | None
    review_at: datetime | None
    order_id: int | None = None
    note: str | None = None
    actor: str | None = None


_members = table(Member)
_SET_TIER = (
    update(_members)
    .where(_members.c.id == bindparam("member"))
    .values(
        tier_code=bindparam("code"),
        tier_since=bindparam("since"),
        tier_review_at=bindparam("review_at"),
    )
)
_INSERT_CHANGE = insert(table(TierChange))
_TIER_DATES = select(_members.c.tier_since, _members.c.tier_review_at).where(
    _members.c.id == bindparam("member")
)


def record_move(session: Session, *, program_id: int, move: Move) -> None:
    """Set the member's tier and dates and append the move to their tier history."""
    connection = session.connection()
    connection.execute(
        _SET_TIER,
        {
            "member": move.member_id,
            "code": move.to_code,
            "since": move.since,
            "review_at": move.review_at,
        },
    )
    connection.execute(
        _INSERT_CHANGE,
        {
            "program_id": program_id,
            "member_id": move.member_id,
            "from_code": move.from_code,
            "to_code": move.to_code,
            "reason": move.reason,
            "idempotency_key": move.key,
            "order_id": move.order_id,
            "at": move.at,
            "note": move.note,
            "actor": move.actor,
            "since": move.since,
            "review_at": move.review_at,
        },
    )


def tier_dates(session: Session, *, member_id: int) -> Row[datetime | None, datetime | None]:
    """Return the member's ``tier_since`` and ``tier_review_at``; one statement built once."""
    return session.connection().execute(_TIER_DATES, {"member": member_id}).one()


def tier_state(session: Session, *, member_id: int) -> Row[str, datetime | None, datetime | None]:
    """Return the member's ``tier_code``, ``tier_since`` and ``tier_review_at``."""
    return session.execute(
        select(Member.tier_code, Member.tier_since, Member.tier_review_at).where(
            Member.id == member_id
        )
    ).one()


def recent_moves(
    session: Session, *, member_id: int, limit: int
) -> Sequence[Row[str, str, str, int | None, datetime, datetime | None, datetime | None]]:
    """Return up to ``limit`` of the member's latest tier moves, newest first."""
    return session.execute(
        select(
            TierChange.reason,
            TierChange.from_code,
            TierChange.to_code,
            TierChange.order_id,
            TierChange.at,
            TierChange.since,
            TierChange.review_at,
        )
        .where(TierChange.member_id == member_id)
        .order_by(TierChange.id.desc())
        .limit(limit)
    ).all()


def move_id_by_key(session: Session, *, program_id: int, key: str) -> int | None:
    """Return the id of the program's tier move keyed ``key``, if one was recorded."""
    return session.scalar(
        select(TierChange.id).where(
            TierChange.program_id == program_id, TierChange.idempotency_key == key
        )
    )


def _reviewed(program_id: int, entry_code: str) -> list[ColumnElement[bool]]:
    """Select the program's open members above the entry tier: those a review judges."""
    return [
        Member.program_id == program_id,
        Member.tier_code != entry_code,
        Member.status != MemberStatus.closed,
    ]


def due_for_review(
    session: Session, *, program_id: int, entry_code: str, as_of: datetime
) -> list[int]:
    """Return the ids of open members above the entry tier whose review is due by ``as_of``."""
    return list(
        session.scalars(
            select(Member.id)
            .where(*_reviewed(program_id, entry_code), Member.tier_review_at <= as_of)
            .order_by(Member.id)
        )
    )


def to_notify(
    session: Session, *, program_id: int, entry_code: str, after: datetime, until: datetime
) -> list[int]:
    """Return the ids of open members above the entry tier reviewed in (after, until].

    Members with a notice recorded for that review are left out.
    """
    noticed = (
        select(TierNotice.id)
        .where(TierNotice.member_id == Member.id, TierNotice.review_at == Member.tier_review_at)
        .exists()
    )
    return list(
        session.scalars(
            select(Member.id)
            .where(
                *_reviewed(program_id, entry_code),
                Member.tier_review_at > after,
                Member.tier_review_at <= until,
                ~noticed,
            )
            .order_by(Member.id)
        )
    )


def notice_recorded(session: Session, *, member_id: int, review_at: datetime) -> bool:
    """Tell whether a grace notice is recorded for the member's review at ``review_at``."""
    return bool(
        session.scalar(
            select(TierNotice.id).where(
                TierNotice.member_id == member_id, TierNotice.review_at == review_at
            )
        )
    )


def add_notice(session: Session, *, notice: TierNotice) -> None:
    """Record a grace notice (written with the unit of work)."""
    session.add(notice)


def tiers_held(session: Session, *, program_id: int) -> list[tuple[str, int]]:
    """Return (tier code, members holding it) for every tier the program's members hold."""
    return [
        (code, count)
        for code, count in session.execute(
            select(Member.tier_code, func.count())
            .where(Member.program_id == program_id)
            .group_by(Member.tier_code)
            .order_by(Member.tier_code)
        )
    ]


def move_all(
    session: Session,
    *,
    program_id: int,
    source: str,
    target: str,
    entry: bool,
    key_prefix: str,
    now: datetime,
    period_end: datetime,
    actor: str | None,
) -> list[tuple[int, datetime | None]]:
    """Move every member of tier ``source`` to ``target`` for a ladder change, set-wise.

    The members are locked in id order first; each move is recorded with reason
    ``ladder_change``, keyed ``<key_prefix>:<member id>``. A move to the entry tier
    (``entry``) clears the review; otherwise the member keeps their review date, or gets
    ``period_end`` when they had none. Returns (member id, review date now) per member moved.
    """
    rows = session.execute(
        select(Member.id, Member.tier_review_at)
        .where(Member.program_id == program_id, Member.tier_code == source)
        .order_by(Member.id)
        .with_for_update()
    ).all()
    if not rows:
        return []
    moved = [
        (member_id, None if entry else review_at or period_end) for member_id, review_at in rows
    ]
    connection = session.connection()
    # Set-wise: a ladder change may move many members at once.
    connection.execute(
        update(_members)
        .where(_members.c.program_id == program_id, _members.c.tier_code == source)
        .values(
            tier_code=target,
            tier_since=now,
            tier_review_at=None if entry else func.coalesce(_members.c.tier_review_at, period_end),
        )
    )
    connection.execute(
        _INSERT_CHANGE,
        [
            {
                "program_id": program_id,
                "member_id": member_id,
                "from_code": source,
                "to_code": target,
                "reason": TierChangeReason.ladder_change,
                "idempotency_key": f"{key_prefix}:{member_id}",
                "order_id": None,
                "at": now,
                "note": None,
                "actor": actor,
                "since": now,
                "review_at": review_at,
            }
            for member_id, review_at in moved
        ],
    )
    return moved
