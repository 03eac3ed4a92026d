"""Reads of members for screens and reports (the console's dashboard and lists)."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select, union
from sqlalchemy.orm import Session

from memberkit.member.models import Member, MemberTag
from memberkit.store.models import Store


@dataclass(frozen=True)
class MemberCounts:
    """How many members there are, how many joined since a moment, how many hold each tier."""

    total: int
    new: int
    by_tier: dict[str, int]


def counts(
    session: Session, *, program_id: int, since: datetime, stores: Collection[str] | None = None
) -> MemberCounts:
    """Count the program's members (registered at ``stores`` when given: their home store)."""
    condition = [Member.program_id == program_id]
    if stores is not None:
        condition.append(
            Member.store_id.in_(
                select(Store.id).where(Store.program_id == program_id, Store.code.in_(stores))
            )
        )
    by_tier = {
        code: int(count)
        for code, count in session.execute(
            select(Member.tier_code, func.count()).where(*condition).group_by(Member.tier_code)
        )
    }
    new = session.scalar(select(func.count()).where(*condition, Member.created_at >= since))
    return MemberCounts(total=sum(by_tier.values()), new=int(new or 0), by_tier=by_tier)


#: Rows of one page of the member list.
PAGE_SIZE = 50
#: Rows read per batch when a list is exported (the export streams, batch by batch).
EXPORT_BATCH = 500


@dataclass(frozen=True)
class MemberFilter:
    """What the console's member list is narrowed to; None leaves a criterion open.

    ``phone_index``, ``member_no``, ``name_index`` and ``tag`` come from the search box: the
    phone and the full name as their blind indexes (both are encrypted, so a name is found
    whole, never by a part), ``tag`` one tag exactly; a member matching any of them is listed.
    ``stores`` is the viewer's scope (None: every store), ``store_code`` the store asked for.
    """

    stores: Collection[str] | None = None
    store_code: str | None = None
    tier_code: str | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    phone_index: str | None = None
    member_no: str | None = None
    name_index: str | None = None
    tag: str | None = None


@dataclass(frozen=True)
class MemberRow:
    """A member as the list shows one (personal data still sealed)."""

    id: int
    member: Member
    store_code: str | None


def _conditions(program_id: int, wanted: MemberFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [Member.program_id == program_id]
    for codes in (wanted.stores, None if wanted.store_code is None else [wanted.store_code]):
        if codes is not None:
            conditions.append(
                Member.store_id.in_(
                    select(Store.id).where(Store.program_id == program_id, Store.code.in_(codes))
                )
            )
    if wanted.tier_code is not None:
        conditions.append(Member.tier_code == wanted.tier_code)
    if wanted.status is not None:
        conditions.append(Member.status == wanted.status)
    if wanted.since is not None:
        conditions.append(Member.created_at >= wanted.since)
    if wanted.until is not None:
        conditions.append(Member.created_at < wanted.until)
    searched: list[ColumnElement[bool]] = []
    if wanted.phone_index is not None:
        searched.append(Member.phone_index == wanted.phone_index)
    if wanted.member_no is not None:
        searched.append(Member.member_no == wanted.member_no)
    # The name and the tag through their own indexes, as one set of ids: an OR beside them
    # would have the list walk every member newest first to find few or none.
    found: list[Select[Any]] = []
    if wanted.name_index is not None:
        found.append(
            select(Member.id).where(
                Member.program_id == program_id, Member.name_index == wanted.name_index
            )
        )
    if wanted.tag is not None:
        found.append(
            select(MemberTag.member_id).where(
                MemberTag.program_id == program_id, MemberTag.tag == wanted.tag
            )
        )
    if found:
        searched.append(Member.id.in_(union(*found) if len(found) > 1 else found[0]))
    if searched:
        conditions.append(or_(*searched))
    return conditions


def listing(
    session: Session,
    *,
    program_id: int,
    wanted: MemberFilter,
    before: int | None = None,
    limit: int = PAGE_SIZE,
) -> tuple[list[MemberRow], int | None]:
    """Return one page of members, newest first, and the cursor of the next page (or None).

    Paged by keyset on the row id (``before``: the last id of the previous page), so a deep
    page costs what the first does and a member registered meanwhile shifts nothing.
    """
    narrowed = _held(session, program_id=program_id, wanted=wanted)
    if narrowed is None:
        return [], None
    query = (
        select(Member, Store.code)
        .outerjoin(Store, Store.id == Member.store_id)
        .where(*_conditions(program_id, narrowed))
    )
    if before is not None:
        query = query.where(Member.id < before)
    if wanted.until is not None:  # a span that ends before now (from the newest, the walk is in it)
        bounds = _registered_ids(session, program_id=program_id, wanted=wanted)
        if bounds is None:
            return [], None
        query = query.where(Member.id.between(*bounds))
    rows = session.execute(query.order_by(Member.id.desc()).limit(limit + 1)).all()
    page = [MemberRow(member.id, member, code) for member, code in rows[:limit]]
    return page, (page[-1].id if len(rows) > limit and page else None)


def _held(session: Session, *, program_id: int, wanted: MemberFilter) -> MemberFilter | None:
    """The filter without a searched name or tag that no member holds; None: it finds nobody.

    The search box's words are looked for as a full name and as a tag at once; mostly they
    are one of the two. Asked alone, each is a walk of its own index newest first; asked as
    "either", the database gathers every holder of a common tag first (150,000 ids for a tag
    of a million members). Two one-row reads tell which of them anybody holds.
    """
    if wanted.name_index is None or wanted.tag is None:
        return wanted
    named = session.scalar(
        select(Member.id)
        .where(Member.program_id == program_id, Member.name_index == wanted.name_index)
        .limit(1)
    )
    tagged = session.scalar(
        select(MemberTag.member_id)
        .where(MemberTag.program_id == program_id, MemberTag.tag == wanted.tag)
        .limit(1)
    )
    if named is not None and tagged is not None:
        return wanted
    if named is not None or tagged is not None:
        return replace(
            wanted,
            name_index=wanted.name_index if named is not None else None,
            tag=wanted.tag if tagged is not None else None,
        )
    if wanted.phone_index is None and wanted.member_no is None:
        return None
    return replace(wanted, name_index=None, tag=None)


def _registered_ids(
    session: Session, *, program_id: int, wanted: MemberFilter
) -> tuple[int, int] | None:
    """The lowest and highest row id of the members registered in the filter's span.

    A condition the span already implies, said to the database: the span's members are
    rows of ids close together (ids grow with registration), which the planner cannot know,
    so without it a page newest first walked from the newest member down to the span.
    Read from the (program, created_at, id) index alone: a few ms for a month of
    registrations, some hundred for all of them.
    """
    span = [Member.program_id == program_id]
    if wanted.since is not None:
        span.append(Member.created_at >= wanted.since)
    if wanted.until is not None:
        span.append(Member.created_at < wanted.until)
    # ``id + 0``: not the newest-first walk of the primary key, which is what this avoids.
    shifted = Member.id + 0
    low, high = session.execute(select(func.min(shifted), func.max(shifted)).where(*span)).one()
    return None if low is None else (int(low), int(high))


def exported(
    session: Session, *, program_id: int, wanted: MemberFilter, batch: int = EXPORT_BATCH
) -> Iterator[MemberRow]:
    """Yield every member of the filter, newest first, read by keyset in batches.

    The first batch is a page's worth, so the file starts as soon as a page would show.
    """
    before: int | None = None
    size = min(batch, PAGE_SIZE)
    while True:
        page, before = listing(
            session, program_id=program_id, wanted=wanted, before=before, limit=size
        )
        yield from page
        if before is None:
            return
        size = batch
