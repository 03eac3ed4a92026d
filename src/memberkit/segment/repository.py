"""Writes of segments: the segment rows, and membership moved in bulk with its history."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, insert, literal, select, tuple_, union_all, update
from sqlalchemy.orm import Session

from memberkit.db import table
from memberkit.segment.models import (
    MembershipChange,
    Segment,
    SegmentMember,
    SegmentMembershipEvent,
)

segments = table(Segment)
segment_members = table(SegmentMember)
events = table(SegmentMembershipEvent)


@dataclass(frozen=True)
class Moved:
    """How many members entered and left a segment in one refresh."""

    entered: int
    left: int


def lock_segment(session: Session, *, program_id: int, segment_id: int) -> Segment | None:
    """Return a segment of the program, its row locked until commit (one refresh at a time)."""
    return session.scalars(
        select(Segment)
        .where(Segment.id == segment_id, Segment.program_id == program_id)
        .with_for_update()
    ).one_or_none()


def live_rule_segments(session: Session, *, program_id: int) -> list[Segment]:
    """The program's rule segments not archived, oldest first."""
    return list(
        session.scalars(
            select(Segment)
            .where(
                Segment.program_id == program_id,
                Segment.kind == "rule",
                Segment.archived_at.is_(None),
            )
            .order_by(Segment.id)
        )
    )


def move(
    session: Session,
    *,
    segment_id: int,
    wanted: Select[Any],
    now: datetime,
    only: Collection[int] | None = None,
) -> Moved:
    """Make the segment's members those of ``wanted`` (among ``only``, if given), in bulk.

    Members no longer wanted leave and new ones enter; each move is an event row. Nothing is
    loaded into Python: four INSERT … SELECT / DELETE statements on the indexed tables.
    """
    ids = wanted.subquery()
    current = select(segment_members.c.member_id).where(segment_members.c.segment_id == segment_id)
    leaving = segment_members.c.member_id.not_in(select(ids.c.id))
    held = [segment_members.c.segment_id == segment_id, leaving]
    if only is not None:
        held.append(segment_members.c.member_id.in_(list(only)))
    left = (
        session.connection()
        .execute(
            insert(events).from_select(
                ["segment_id", "member_id", "change", "at"],
                select(
                    segment_members.c.segment_id,
                    segment_members.c.member_id,
                    literal(MembershipChange.left.value),
                    literal(now, events.c.at.type),
                ).where(*held),
            ),
            execution_options={"preserve_rowcount": True},
        )
        .rowcount
    )
    if left:
        session.execute(delete(segment_members).where(*held))
    entered = (
        session.connection()
        .execute(
            insert(events).from_select(
                ["segment_id", "member_id", "change", "at"],
                select(
                    literal(segment_id),
                    ids.c.id,
                    literal(MembershipChange.entered.value),
                    literal(now, events.c.at.type),
                ).where(ids.c.id.not_in(current)),
            ),
            execution_options={"preserve_rowcount": True},
        )
        .rowcount
    )
    if entered:
        session.execute(
            insert(segment_members).from_select(
                ["segment_id", "member_id", "since"],
                select(
                    literal(segment_id),
                    ids.c.id,
                    literal(now, segment_members.c.since.type),
                ).where(ids.c.id.not_in(current)),
            )
        )
    return Moved(entered=entered or 0, left=left or 0)


def add_members(
    session: Session, *, segment_id: int, member_ids: Collection[int], now: datetime
) -> int:
    """Add members to a (static) segment, those already in it skipped; return how many entered."""
    current = set(
        session.scalars(
            select(segment_members.c.member_id).where(
                segment_members.c.segment_id == segment_id,
                segment_members.c.member_id.in_(list(member_ids)),
            )
        )
    )
    new = sorted(set(member_ids) - current)
    if new:
        rows = [{"segment_id": segment_id, "member_id": m, "since": now} for m in new]
        session.execute(insert(segment_members), rows)
        session.execute(
            insert(events),
            [
                {"segment_id": segment_id, "member_id": m, "change": "entered", "at": now}
                for m in new
            ],
        )
    return len(new)


def recount(session: Session, *, segment_id: int, now: datetime) -> int:
    """Store the segment's member count and refresh time; return the count."""
    count = session.scalar(
        select(func.count())
        .select_from(segment_members)
        .where(segment_members.c.segment_id == segment_id)
    )
    session.execute(
        update(segments)
        .where(segments.c.id == segment_id)
        .values(member_count=count or 0, refreshed_at=now)
    )
    return count or 0


def wanted_memberships(
    session: Session, *, queries: Mapping[int, Select[Any]]
) -> set[tuple[int, int]]:
    """``(segment_id, member_id)`` that each segment's query selects, in one UNION ALL."""
    parts = [
        select(literal(segment_id).label("segment_id"), query.subquery().c.id)
        for segment_id, query in queries.items()
    ]
    return {(s, m) for s, m in session.execute(union_all(*parts)).all()}


def memberships(
    session: Session, *, segment_ids: Collection[int], member_ids: Collection[int]
) -> set[tuple[int, int]]:
    """``(segment_id, member_id)`` of these members in these segments now."""
    rows = session.execute(
        select(segment_members.c.segment_id, segment_members.c.member_id).where(
            segment_members.c.segment_id.in_(list(segment_ids)),
            segment_members.c.member_id.in_(list(member_ids)),
        )
    )
    return {(s, m) for s, m in rows.all()}


def change_memberships(
    session: Session,
    *,
    entered: Collection[tuple[int, int]],
    left: Collection[tuple[int, int]],
    now: datetime,
) -> None:
    """Write a few members' entries and exits (``(segment_id, member_id)``), with their events."""
    for change, pairs in ((MembershipChange.left, left), (MembershipChange.entered, entered)):
        if not pairs:
            continue
        session.execute(
            insert(events),
            [
                {"segment_id": s, "member_id": m, "change": change.value, "at": now}
                for s, m in pairs
            ],
        )
    if left:
        session.execute(
            delete(segment_members).where(
                tuple_(segment_members.c.segment_id, segment_members.c.member_id).in_(list(left))
            )
        )
    if entered:
        session.execute(
            insert(segment_members),
            [{"segment_id": s, "member_id": m, "since": now} for s, m in entered],
        )
