"""REST endpoints of segments: define, count while editing, members, history, refresh, upload.

Reading keys (``read``) count and list; ``admin`` keys change. A store-bound key counts and
lists only the members registered at its store.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from sqlalchemy.orm import Session

from memberkit.api.context import AdminContext, ApiContext, ReadContext
from memberkit.auth.models import Scope
from memberkit.kit.i18n import negotiate, translate
from memberkit.kit.pagination import MAX_PAGE_SIZE
from memberkit.member import service as member_service
from memberkit.member.rules import mask_personal
from memberkit.program.service import ProgramConfig
from memberkit.segment import queries, service
from memberkit.segment.models import Segment, SegmentKind
from memberkit.segment.rules import BY_KEY, READY
from memberkit.segment.schemas import (
    CountIn,
    CountOut,
    HistoryItem,
    HistoryOut,
    MemberBrief,
    MembersOut,
    ReadyOut,
    RefreshOut,
    SegmentIn,
    SegmentOut,
    SegmentPatch,
    UploadIn,
    UploadOut,
)

router = APIRouter(prefix="/api/v1/segments", tags=["segments"])
#: The largest id of a segment, member or history entry: their columns are ``INTEGER``
#: (32 bits on PostgreSQL), so a larger one in an address is a 422 before any query, not a 500.
MAX_ID = 2**31 - 1
#: A segment's id in a path.
SegmentId = Annotated[int, Path(ge=1, le=MAX_ID)]


def _out(segment: Segment, member_count: int | None = None) -> SegmentOut:
    """The segment; ``member_count`` when the caller sees only some stores' members."""
    return SegmentOut(
        id=segment.id,
        name=segment.name,
        description=segment.description,
        kind=SegmentKind(segment.kind),
        definition=segment.definition,
        member_count=segment.member_count if member_count is None else member_count,
        refreshed_at=segment.refreshed_at,
        created_by=segment.created_by,
        created_at=segment.created_at,
    )


def _stores(context: ApiContext) -> list[str] | None:
    code = context.principal.store_code
    return None if code is None else [code]


def brief(program: ProgramConfig, row: queries.MemberRow, *, unmasked: bool) -> MemberBrief:
    """A member's line in a list, masked unless the caller may see personal data."""
    personal = member_service.personal(row.member)
    fields = {"phone": personal["phone"] or "", "name": personal["name"]}
    shown = fields if unmasked else mask_personal(fields)
    return MemberBrief(
        member_no=row.member.member_no,
        phone=shown["phone"] or "",
        name=shown["name"],
        tier=program.ladder.tier(row.member.tier_code).name,
        store=row.store_code,
        since=row.since,
    )


def _unmasked(context: ApiContext) -> bool:
    return context.principal.scope == Scope.admin


def _seen(session: Session, context: ApiContext, segment: Segment) -> SegmentOut:
    """The segment as the caller sees it: a store-bound key counts its store's members only."""
    stores = _stores(context)
    if stores is None:
        return _out(segment)
    count = queries.member_count(
        session, segment_id=segment.id, program_id=context.program.id, stores=stores
    )
    return _out(segment, count)


@router.get("", response_model=list[SegmentOut])
def list_segments(context: ReadContext) -> list[SegmentOut]:
    """Every live segment of the program, by name (a store-bound key counts its store's)."""
    with context.transaction() as session:
        found = queries.listing(session, program_id=context.program.id)
        return [_seen(session, context, s) for s in found]


@router.post("", status_code=201, response_model=SegmentOut)
def create_segment(body: SegmentIn, context: AdminContext) -> SegmentOut:
    """Define a segment; a rule segment is filled at once. A bad rule is a 422 naming where."""
    context.principal.require_unbound()
    with context.transaction() as session:
        segment = service.create(
            session,
            program=context.program,
            name=body.name,
            kind=body.kind,
            definition=body.definition,
            description=body.description,
            actor=context.principal.actor,
        )
        return _out(segment)


@router.post("/count", response_model=CountOut)
def count_segment(body: CountIn, context: ReadContext) -> CountOut:
    """Count the members a definition (not yet saved) selects now, with the first 20."""
    # A POST that only reads: no write lock on SQLite, READ ONLY on PostgreSQL.
    with context.database.session_scope(read_only=True) as session:
        found = service.count(
            session, program=context.program, definition=body.definition, stores=_stores(context)
        )
        unmasked = _unmasked(context)
        return CountOut(
            count=found.total,
            preview=[brief(context.program, row, unmasked=unmasked) for row in found.preview],
        )


@router.get("/ready", response_model=list[ReadyOut])
def ready_segments(request: Request, context: ReadContext) -> list[ReadyOut]:
    """The ready segments to start from (high value at risk, likely to buy soon, new high)."""
    locale = negotiate(request.headers.get("accept-language"))
    return [
        ReadyOut(
            key=ready.key,
            name=translate(ready.name, locale),
            description=translate(ready.description, locale),
            definition=dict(ready.definition),
        )
        for ready in READY
    ]


@router.post("/ready/{key}", status_code=201, response_model=SegmentOut)
def create_ready_segment(key: str, request: Request, context: AdminContext) -> SegmentOut:
    """Make a rule segment from a ready one, named in the request's language; filled at once."""
    context.principal.require_unbound()
    locale = negotiate(request.headers.get("accept-language"))
    ready = BY_KEY.get(key)
    with context.transaction() as session:
        segment = service.create_ready(
            session,
            program=context.program,
            key=key,
            name=translate(ready.name if ready else key, locale),
            actor=context.principal.actor,
        )
        return _out(segment)


@router.get("/{segment_id}", response_model=SegmentOut)
def get_segment(segment_id: SegmentId, context: ReadContext) -> SegmentOut:
    """One segment (a store-bound key counts its store's members only)."""
    with context.transaction() as session:
        segment = service.get(session, program=context.program, segment_id=segment_id)
        return _seen(session, context, segment)


@router.patch("/{segment_id}", response_model=SegmentOut)
def change_segment(segment_id: SegmentId, body: SegmentPatch, context: AdminContext) -> SegmentOut:
    """Rename or redefine a segment; a new rule refreshes it at once."""
    context.principal.require_unbound()
    with context.transaction() as session:
        segment = service.update(
            session,
            program=context.program,
            segment_id=segment_id,
            name=body.name,
            description=body.description,
            definition=body.definition,
        )
        return _out(segment)


@router.delete("/{segment_id}", status_code=204)
def delete_segment(segment_id: SegmentId, context: AdminContext) -> Response:
    """Archive a segment: its members leave (kept in its history); it is no longer listed."""
    context.principal.require_unbound()
    with context.transaction() as session:
        service.archive(session, program=context.program, segment_id=segment_id)
    return Response(status_code=204)


@router.get("/{segment_id}/members", response_model=MembersOut)
def segment_members(
    segment_id: SegmentId,
    context: ReadContext,
    after: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
) -> MembersOut:
    """A segment's members by id, a page at a time (``after`` = the last page's ``next_after``)."""
    with context.transaction() as session:
        segment = service.get(session, program=context.program, segment_id=segment_id)
        total, page = queries.members(
            session,
            segment_id=segment.id,
            program_id=context.program.id,
            stores=_stores(context),
            after=after,
            limit=limit,
        )
        unmasked = _unmasked(context)
        return MembersOut(
            total=total,
            items=[brief(context.program, row, unmasked=unmasked) for row in page.items],
            next_after=page.next_after,
        )


@router.get("/{segment_id}/history", response_model=HistoryOut)
def segment_history(
    segment_id: SegmentId,
    context: ReadContext,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
) -> HistoryOut:
    """Who entered and left the segment when, newest first."""
    with context.transaction() as session:
        segment = service.get(session, program=context.program, segment_id=segment_id)
        page = queries.history(
            session,
            segment_id=segment.id,
            program_id=context.program.id,
            stores=_stores(context),
            before=before,
            limit=limit,
        )
        return HistoryOut(
            items=[
                HistoryItem(member_no=r.member_no, change=r.change, at=r.at) for r in page.items
            ],
            next_before=page.next_after,
        )


@router.post("/{segment_id}/refresh", response_model=RefreshOut)
def refresh_segment(segment_id: SegmentId, context: AdminContext) -> RefreshOut:
    """Refresh a segment's members in full now; a repeat moves no one."""
    context.principal.require_unbound()
    with context.transaction() as session:
        segment = service.get(session, program=context.program, segment_id=segment_id)
        moved = service.refresh(session, program=context.program, segment=segment)
        return RefreshOut(entered=moved.entered, left=moved.left, member_count=segment.member_count)


@router.post("/{segment_id}/members", response_model=UploadOut)
def upload_members(segment_id: SegmentId, body: UploadIn, context: AdminContext) -> UploadOut:
    """Add members to a static segment, one card number or phone per line; a repeat adds none."""
    context.principal.require_unbound()
    with context.transaction() as session:
        upload = service.add_listed(
            session, program=context.program, segment_id=segment_id, lines=body.lines
        )
        return UploadOut(added=upload.added, found=upload.found, unknown=upload.unknown)
