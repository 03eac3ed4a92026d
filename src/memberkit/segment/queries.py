"""Reads of segments for screens and the API: lists, a segment's members, its history, counts."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from memberkit.kit.pagination import Page, page_of
from memberkit.member.models import Member
from memberkit.segment.models import Segment, SegmentMember, SegmentMembershipEvent
from memberkit.store.models import Store

#: How many members a count's preview shows.
PREVIEW = 20


def listing(session: Session, *, program_id: int) -> list[Segment]:
    """The program's segments not archived, by name."""
    return list(
        session.scalars(
            select(Segment)
            .where(Segment.program_id == program_id, Segment.archived_at.is_(None))
            .order_by(Segment.name)
        )
    )


def segment(session: Session, *, program_id: int, segment_id: int) -> Segment | None:
    """One segment of the program (archived ones too)."""
    return session.scalars(
        select(Segment).where(Segment.id == segment_id, Segment.program_id == program_id)
    ).one_or_none()


@dataclass(frozen=True)
class MemberRow:
    """A member of a list, with their store's code and, in a segment, since when."""

    member: Member
    store_code: str | None
    since: datetime | None = None


def _with_store(query: Select[Any]) -> Select[Any]:
    return query.add_columns(Store.code).outerjoin(Store, Store.id == Member.store_id)


def _scoped(query: Any, program_id: int, stores: Collection[str] | None) -> Any:
    if stores is None:
        return query
    return query.where(
        Member.store_id.in_(
            select(Store.id).where(Store.program_id == program_id, Store.code.in_(stores))
        )
    )


def count(session: Session, *, ids: Select[Any]) -> tuple[int, list[MemberRow]]:
    """How many members ``ids`` selects, and the first of them by id."""
    total = session.scalar(select(func.count()).select_from(ids.subquery()))
    first = ids.order_by(Member.id).limit(PREVIEW).subquery()
    rows = session.execute(
        _with_store(select(Member)).where(Member.id.in_(select(first.c.id))).order_by(Member.id)
    ).all()
    return total or 0, [MemberRow(member, code) for member, code in rows]


def member_count(
    session: Session, *, segment_id: int, program_id: int, stores: Collection[str] | None
) -> int:
    """How many members a segment holds (of those registered at ``stores``, if given)."""
    inside = Member.id.in_(
        select(SegmentMember.member_id).where(SegmentMember.segment_id == segment_id)
    )
    total = session.scalar(
        _scoped(select(func.count()).select_from(Member).where(inside), program_id, stores)
    )
    return total or 0


def members(
    session: Session,
    *,
    segment_id: int,
    program_id: int,
    stores: Collection[str] | None,
    after: int | None,
    limit: int,
) -> tuple[int, Page[MemberRow]]:
    """A segment's members (within ``stores``) by id, a page after ``after``, and how many."""
    total = member_count(session, segment_id=segment_id, program_id=program_id, stores=stores)
    query = (
        _scoped(_with_store(select(Member)), program_id, stores)
        .add_columns(SegmentMember.since)
        .join(
            SegmentMember,
            (SegmentMember.member_id == Member.id) & (SegmentMember.segment_id == segment_id),
        )
        .order_by(Member.id)
        .limit(limit + 1)
    )
    if after is not None:
        query = query.where(Member.id > after)
    rows = [MemberRow(m, code, since) for m, code, since in session.execute(query).all()]
    return total, page_of(rows, limit=limit, key=lambda row: row.member.id)


@dataclass(frozen=True)
class HistoryRow:
    """One entry or exit of a member."""

    id: int
    member_no: str
    change: str
    at: datetime


def history(
    session: Session,
    *,
    segment_id: int,
    program_id: int,
    stores: Collection[str] | None,
    before: int | None,
    limit: int,
) -> Page[HistoryRow]:
    """Who entered and left the segment (within ``stores``), newest first, by keyset."""
    base = (
        select(
            SegmentMembershipEvent.id,
            Member.member_no,
            SegmentMembershipEvent.change,
            SegmentMembershipEvent.at,
        )
        .join(Member, Member.id == SegmentMembershipEvent.member_id)
        .where(SegmentMembershipEvent.segment_id == segment_id)
    )
    query = _scoped(base, program_id, stores)
    if before is not None:
        query = query.where(SegmentMembershipEvent.id < before)
    rows = session.execute(query.order_by(SegmentMembershipEvent.id.desc()).limit(limit + 1))
    found = [HistoryRow(*row) for row in rows.all()]
    return page_of(found, limit=limit, key=lambda row: row.id)


def member_ids_by(
    session: Session,
    *,
    program_id: int,
    member_nos: Collection[str],
    phone_indexes: Collection[str],
) -> tuple[dict[str, int], dict[str, int]]:
    """Members' ids by card number and by phone index, of those that exist."""
    by_no = (
        dict(
            session.execute(
                select(Member.member_no, Member.id).where(
                    Member.program_id == program_id, Member.member_no.in_(list(member_nos))
                )
            ).all()
        )
        if member_nos
        else {}
    )
    by_phone = (
        dict(
            session.execute(
                select(Member.phone_index, Member.id).where(
                    Member.program_id == program_id, Member.phone_index.in_(list(phone_indexes))
                )
            ).all()
        )
        if phone_indexes
        else {}
    )
    return by_no, by_phone
