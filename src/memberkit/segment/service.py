"""Segment use cases: define, count, refresh (fully or for some members), fill static ones.

A rule segment's members are what its compiled rule selects at its last refresh; each refresh
moves the difference in bulk and writes who entered and left (:mod:`.repository`). Deleting a
segment archives it: its members leave (written as history), the history stays, it is no longer
refreshed or listed. Services flush, never commit.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import false, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from memberkit.errors import Conflict, InvalidInput, NotFound
from memberkit.kit.i18n import _
from memberkit.kit.time import utcnow
from memberkit.member.models import Member
from memberkit.member.rules import normalize_phone, phone_index, valid_member_no
from memberkit.program.service import ProgramConfig
from memberkit.segment import compiler, queries, repository
from memberkit.segment.models import Segment, SegmentKind
from memberkit.segment.repository import Moved
from memberkit.segment.rules import BY_KEY
from memberkit.segment.tree import Group, parse

log = logging.getLogger("memberkit.segment")
#: The most lines one static upload may hold.
MAX_UPLOAD = 100_000


class SegmentNotFound(NotFound):
    """No such segment in the program."""

    code = "segment_not_found"
    message = _("No segment {segment_id} in this program.")


class ReadyNotFound(NotFound):
    """No ready segment of this key."""

    code = "ready_segment_not_found"
    message = _("No ready segment {key}.")


class SegmentNameTaken(Conflict):
    """Another segment has this name."""

    code = "segment_name_taken"
    message = _("A segment named {name} already exists.")


class NotStatic(InvalidInput):
    """Members are added by hand to static segments only."""

    code = "segment_not_static"
    message = _("Members can be added only to a static segment.")


class StaticDefinition(InvalidInput):
    """A static segment's members are listed by hand: it has no rule."""

    code = "segment_static_definition"
    message = _("A static segment has no rule: leave its definition out.")


class UploadTooLong(InvalidInput):
    """A static upload of too many lines."""

    code = "segment_upload_too_long"
    message = _("An upload holds at most {most} lines.")


def rule(definition: Any) -> Group:
    """Validate a definition (refusing where it is wrong) and return its tree."""
    return parse(definition, compiler.specs())


def context(program: ProgramConfig, now: datetime | None = None) -> compiler.Context:
    """What rules are evaluated for: the program, its timezone, now."""
    return compiler.Context(program.id, program.tz, now or utcnow())


def _load(session: Session, program: ProgramConfig, segment_id: int) -> Segment:
    found = repository.lock_segment(session, program_id=program.id, segment_id=segment_id)
    if found is None or found.archived_at is not None:
        raise SegmentNotFound(segment_id=segment_id)
    return found


def get(session: Session, *, program: ProgramConfig, segment_id: int) -> Segment:
    """A live segment of the program, or refuse."""
    found = queries.segment(session, program_id=program.id, segment_id=segment_id)
    if found is None or found.archived_at is not None:
        raise SegmentNotFound(segment_id=segment_id)
    return found


def _named(session: Session, segment: Segment) -> None:
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise SegmentNameTaken(name=segment.name) from None


def create(
    session: Session,
    *,
    program: ProgramConfig,
    name: str,
    kind: SegmentKind,
    definition: Any = None,
    description: str = "",
    actor: str = "",
) -> Segment:
    """Define a segment; a rule segment is filled at once (a static one starts empty)."""
    if kind is SegmentKind.static and definition is not None:
        raise StaticDefinition()
    tree = rule(definition) if kind is SegmentKind.rule else None
    segment = Segment(
        program_id=program.id,
        name=name,
        kind=kind,
        definition=definition if tree is not None else None,
        description=description,
        member_count=0,
        created_by=actor,
    )
    session.add(segment)
    _named(session, segment)
    if tree is not None:
        refresh(session, program=program, segment=segment)
    return segment


def create_ready(
    session: Session, *, program: ProgramConfig, key: str, name: str, actor: str = ""
) -> Segment:
    """Make a rule segment from a ready one (:data:`memberkit.segment.rules.READY`), filled."""
    ready = BY_KEY.get(key)
    if ready is None:
        raise ReadyNotFound(key=key)
    return create(
        session,
        program=program,
        name=name,
        kind=SegmentKind.rule,
        definition=dict(ready.definition),
        actor=actor,
    )


def update(
    session: Session,
    *,
    program: ProgramConfig,
    segment_id: int,
    name: str | None = None,
    description: str | None = None,
    definition: Any = None,
) -> Segment:
    """Rename or redefine a segment; a new rule refreshes its members at once."""
    segment = _load(session, program, segment_id)
    if segment.kind != SegmentKind.rule and definition is not None:
        raise StaticDefinition()
    tree = rule(definition) if definition is not None and segment.kind == SegmentKind.rule else None
    if name is not None:
        segment.name = name
    if description is not None:
        segment.description = description
    if tree is not None:
        segment.definition = definition
    _named(session, segment)
    if tree is not None:
        refresh(session, program=program, segment=segment)
    return segment


def archive(session: Session, *, program: ProgramConfig, segment_id: int) -> Segment:
    """Delete a segment: its members leave (kept in its history), it is no longer refreshed."""
    segment = _load(session, program, segment_id)
    now = utcnow()
    nobody = select(Member.id).where(false())
    repository.move(session, segment_id=segment.id, wanted=nobody, now=now)
    repository.recount(session, segment_id=segment.id, now=now)
    segment.archived_at = now
    # The name is free again for a new segment.
    segment.name = f"{segment.name[:80]}#{segment.id}"
    session.flush()
    return segment


@dataclass(frozen=True)
class Count:
    """How many members a rule selects now, and the first of them."""

    total: int
    preview: list[queries.MemberRow]


def count(
    session: Session,
    *,
    program: ProgramConfig,
    definition: Any,
    stores: Collection[str] | None = None,
) -> Count:
    """Count what a definition (saved or not) selects, within ``stores`` if given."""
    ids = compiler.member_ids(rule(definition), context(program), store_codes=stores)
    total, preview = queries.count(session, ids=ids)
    return Count(total, preview)


def refresh(
    session: Session, *, program: ProgramConfig, segment: Segment, now: datetime | None = None
) -> Moved:
    """Recompute a rule segment's members in full: who entered and left is written as history."""
    now = now or utcnow()
    if segment.kind != SegmentKind.rule or segment.definition is None:
        repository.recount(session, segment_id=segment.id, now=now)
        return Moved(0, 0)
    wanted = compiler.member_ids(rule(segment.definition), context(program, now))
    moved = repository.move(session, segment_id=segment.id, wanted=wanted, now=now)
    segment.member_count = repository.recount(session, segment_id=segment.id, now=now)
    segment.refreshed_at = now
    return moved


def _memberships(
    session: Session, program: ProgramConfig, member_ids: Collection[int], now: datetime
) -> tuple[list[Segment], set[tuple[int, int]], set[tuple[int, int]]]:
    """The live rule segments, and these members' memberships as wanted and as stored."""
    segments = [
        s for s in repository.live_rule_segments(session, program_id=program.id) if s.definition
    ]
    if not member_ids or not segments:
        return segments, set(), set()
    at = context(program, now)
    wanted = repository.wanted_memberships(
        session,
        queries={
            s.id: compiler.member_ids(rule(s.definition), at, only=member_ids) for s in segments
        },
    )
    current = repository.memberships(
        session, segment_ids=[s.id for s in segments], member_ids=member_ids
    )
    return segments, wanted, current


def members_move(session: Session, *, program: ProgramConfig, member_ids: Collection[int]) -> bool:
    """Tell whether a refresh of these members would move any (a read: no write lock taken)."""
    _segments, wanted, current = _memberships(session, program, member_ids, utcnow())
    return wanted != current


def refresh_members(
    session: Session,
    *,
    program: ProgramConfig,
    member_ids: Collection[int],
    now: datetime | None = None,
) -> Moved:
    """Re-evaluate every live rule segment of the program for these members only.

    The after-commit path of an order: one UNION ALL of every segment's rule restricted to
    the members, their current memberships, and writes only for what changed.
    """
    now = now or utcnow()
    segments, wanted, current = _memberships(session, program, member_ids, now)
    entered, left = sorted(wanted - current), sorted(current - wanted)
    repository.change_memberships(session, entered=entered, left=left, now=now)
    for segment in segments:
        delta = sum(1 for s, _ in entered if s == segment.id) - sum(
            1 for s, _ in left if s == segment.id
        )
        if delta:
            segment.member_count += delta
    session.flush()
    return Moved(len(entered), len(left))


def refresh_all(session: Session, *, program: ProgramConfig, now: datetime | None = None) -> int:
    """Refresh every live rule segment of the program in full; return how many."""
    found = repository.live_rule_segments(session, program_id=program.id)
    for segment in found:
        refresh(session, program=program, segment=segment, now=now)
    return len(found)


@dataclass(frozen=True)
class Upload:
    """What a static upload did: how many members entered, and the lines naming no member."""

    added: int
    found: int
    unknown: list[str]


def add_listed(
    session: Session, *, program: ProgramConfig, segment_id: int, lines: Sequence[str]
) -> Upload:
    """Add the members named one per line (card number or phone) to a static segment."""
    segment = _load(session, program, segment_id)
    if segment.kind != SegmentKind.static:
        raise NotStatic()
    if len(lines) > MAX_UPLOAD:
        raise UploadTooLong(most=MAX_UPLOAD)
    named = [line.strip().strip(",").strip() for line in lines]
    named = [line for line in named if line and line.lower() not in ("member_no", "phone")]
    # One phone may be spelled several ways (13912345601, +8613912345601, 139-1234-5601):
    # every line naming it names the member.
    by_index: dict[str, list[str]] = {}
    numbers: list[str] = []
    for line in named:
        phone = normalize_phone(line)
        if valid_member_no(line) and phone is None:
            numbers.append(line)
        elif phone is not None:
            by_index.setdefault(phone_index(phone), []).append(line)
            if valid_member_no(line):
                numbers.append(line)
    by_no, by_phone = queries.member_ids_by(
        session, program_id=program.id, member_nos=numbers, phone_indexes=list(by_index)
    )
    phone_ids = {
        line: member_id for index, member_id in by_phone.items() for line in by_index[index]
    }
    ids: set[int] = set()
    unknown: list[str] = []
    for line in dict.fromkeys(named):
        member_id = by_no.get(line, phone_ids.get(line))
        if member_id is None:
            unknown.append(line)
        else:
            ids.add(member_id)
    now = utcnow()
    added = repository.add_members(session, segment_id=segment.id, member_ids=ids, now=now)
    segment.member_count = repository.recount(session, segment_id=segment.id, now=now)
    segment.refreshed_at = now
    return Upload(added=added, found=len(ids), unknown=unknown)
