"""Member writes and locks: the one member lock, registration inserts, profile writes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    bindparam,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from memberkit.db import driver_rows, in_values, table
from memberkit.kit import crypto
from memberkit.kit.i18n import Text, _
from memberkit.kit.time import utcnow
from memberkit.ledger.models import PointsLot
from memberkit.member.models import Member, MemberTag
from memberkit.member.rules import InvalidMember, MemberNotFound, phone_index


@dataclass(frozen=True)
class MemberKey:
    """What the posting path needs of a member: who, and whether they may earn and spend."""

    id: int
    member_no: str
    status: str
    tier_code: str
    #: Whether some of the member's points lots were past expiry when locked (True: unknown).
    points_due: bool = True


def _naming(
    *,
    program_id: int,
    member_no: str | None,
    phone: str | None,
    qr_token: str | None,
    member_id: int | None = None,
) -> tuple[list[ColumnElement[bool]], str]:
    """Return the conditions that find the member named by exactly one identifier."""
    conditions: list[ColumnElement[bool]] = [Member.program_id == program_id]
    if member_id is not None:
        return [*conditions, Member.id == member_id], f"id {member_id}"
    if member_no is not None:
        return [*conditions, Member.member_no == member_no], member_no
    if phone is not None:
        return [*conditions, Member.phone_index == phone_index(phone)], phone
    if qr_token is not None:
        return [
            *conditions,
            Member.qr_token_hash == crypto.token_hash(qr_token),
            Member.qr_expires_at > utcnow(),
        ], "QR token"
    raise InvalidMember(problem=Text(_("name the member by member_no, phone or qr_token")))


def load_member(
    session: Session,
    *,
    program_id: int,
    member_no: str | None = None,
    phone: str | None = None,
    qr_token: str | None = None,
    member_id: int | None = None,
    lock: bool = False,
) -> Member:
    """Return the member row named by exactly one identifier; ``lock`` holds it until commit.

    The lock (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite transactions are already
    serialized) is the one :func:`lock_member` takes, for callers that read or change the
    whole row rather than its key.
    """
    conditions, identifier = _naming(
        program_id=program_id,
        member_no=member_no,
        phone=phone,
        qr_token=qr_token,
        member_id=member_id,
    )
    query = select(Member).where(*conditions)
    if lock:
        query = query.with_for_update()
    member = session.scalars(query).one_or_none()
    if member is None:
        raise MemberNotFound(identifier=identifier)
    return member


_members = table(Member)
_lots = table(PointsLot)
# Read with the lock, so a posting with nothing due skips the statement that expires it.
_POINTS_DUE = (
    exists()
    .where(
        _lots.c.member_id == _members.c.id,
        _lots.c.expires_at <= bindparam("as_of"),
        _lots.c.remaining > 0,
    )
    .label("points_due")
)
_KEY_COLUMNS = (
    _members.c.id,
    _members.c.member_no,
    _members.c.status,
    _members.c.tier_code,
)
_LOCK_COLUMNS = (*_KEY_COLUMNS, _POINTS_DUE)
_LOCK_BY_MEMBER_NO = (
    select(*_LOCK_COLUMNS)
    .where(
        _members.c.program_id == bindparam("program_id"),
        _members.c.member_no == bindparam("member_no"),
    )
    .with_for_update(of=_members)
)
_BY_ID = (
    _members.c.program_id == bindparam("program_id"),
    _members.c.id == bindparam("member_id"),
)
# By row id: for an event of something the member has (a refund of their order) ...
_LOCK_BY_ID = select(*_LOCK_COLUMNS).where(*_BY_ID).with_for_update(of=_members)
# ... and, with no due check, for jobs and referrers (which expire lots themselves if need be).
_LOCK_KEY_BY_ID = select(*_KEY_COLUMNS).where(*_BY_ID).with_for_update(of=_members)


def lock_member(
    session: Session,
    *,
    program_id: int,
    member_no: str | None = None,
    phone: str | None = None,
    qr_token: str | None = None,
    member_id: int | None = None,
    as_of: datetime | None = None,
) -> MemberKey:
    """Lock the named member's row until commit and return its key.

    This lock (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite transactions are already
    serialized) is what serializes every balance and tier change of one member. Name the
    member by exactly one of ``member_id``, ``member_no``, ``phone``, ``qr_token``. With
    ``as_of`` the key says whether any of the member's points lots are past expiry then
    (read in the same statement); without it (by ``member_id`` only) ``points_due`` is True.
    """
    if member_id is not None:
        row = (
            session.connection()
            .execute(
                _LOCK_KEY_BY_ID if as_of is None else _LOCK_BY_ID,
                {"program_id": program_id, "member_id": member_id}
                if as_of is None
                else {"program_id": program_id, "member_id": member_id, "as_of": as_of},
            )
            .one_or_none()
        )
        identifier = f"id {member_id}"
    elif member_no is not None and as_of is not None:  # the usual case, built once
        row = (
            session.connection()
            .execute(
                _LOCK_BY_MEMBER_NO,
                {"program_id": program_id, "member_no": member_no, "as_of": as_of},
            )
            .one_or_none()
        )
        identifier = member_no
    else:
        conditions, identifier = _naming(
            program_id=program_id, member_no=member_no, phone=phone, qr_token=qr_token
        )
        columns = _KEY_COLUMNS if as_of is None else _LOCK_COLUMNS
        row = session.execute(
            select(*columns).where(*conditions).with_for_update(of=_members),
            {} if as_of is None else {"as_of": as_of},
        ).one_or_none()
    if row is None:
        raise MemberNotFound(identifier=identifier)
    points_due = getattr(row, "points_due", True)
    return MemberKey(row.id, row.member_no, row.status, row.tier_code, bool(points_due))


def lock_legacy_batch(session: Session, *, fields: Sequence[str], batch: int) -> list[Member]:
    """Lock up to ``batch`` members with a legacy (v1) ciphertext in ``fields``, by id."""
    legacy = [getattr(Member, f"{field}_enc").startswith("v1:") for field in fields]
    return list(
        session.scalars(
            select(Member).where(or_(*legacy)).order_by(Member.id).limit(batch).with_for_update()
        )
    )


def lock_unindexed_names(session: Session, *, after: int, batch: int) -> list[Row[Any]]:
    """Lock up to ``batch`` members past row id ``after`` with a name but no name index, by id.

    Rows of (id, program_id, member_no, name_enc): what the name's index is made from.
    """
    return list(
        session.execute(
            select(Member.id, Member.program_id, Member.member_no, Member.name_enc)
            .where(Member.id > after, Member.name_enc.is_not(None), Member.name_index.is_(None))
            .order_by(Member.id)
            .limit(batch)
            .with_for_update()
        )
    )


def write_name_indexes(session: Session, *, indexes: dict[int, str | None]) -> None:
    """Set the name index of each member (row id -> index), and nothing else of theirs."""
    if indexes:
        session.connection().execute(
            update(_members)
            .where(_members.c.id == bindparam("member"))
            # updated_at kept as it is (not the column's onupdate): the profile did not change.
            .values(name_index=bindparam("index"), updated_at=_members.c.updated_at),
            [{"member": member_id, "index": index} for member_id, index in indexes.items()],
        )


def count_unindexed_names(session: Session) -> int:
    """Return how many members have a name but no name index."""
    return (
        session.scalar(
            select(func.count()).where(Member.name_enc.is_not(None), Member.name_index.is_(None))
        )
        or 0
    )


def write_tags(session: Session, *, member: Member) -> None:
    """Make the member's rows of ``member_tags`` what ``member.tags`` says (same transaction)."""
    wanted = set(member.tags or [])
    held = set(session.scalars(select(MemberTag.tag).where(MemberTag.member_id == member.id)))
    if held - wanted:
        session.execute(
            delete(MemberTag).where(
                MemberTag.member_id == member.id, MemberTag.tag.in_(held - wanted)
            )
        )
    if wanted - held:
        session.execute(
            insert(MemberTag),
            [
                {"member_id": member.id, "tag": tag, "program_id": member.program_id}
                for tag in sorted(wanted - held)
            ],
        )


def member_no_by_phone(
    session: Session, *, program_id: int, index: str, other_than: int | None = None
) -> str | None:
    """Return the card number of the member holding phone ``index`` (other than one), if any."""
    conditions = [Member.program_id == program_id, Member.phone_index == index]
    if other_than is not None:
        conditions.append(Member.id != other_than)
    return session.scalar(select(Member.member_no).where(*conditions))


def member_no_of(session: Session, *, member_id: int) -> str | None:
    """Return the card number of the member with row id ``member_id``."""
    return session.scalar(select(Member.member_no).where(Member.id == member_id))


def referrer_id(session: Session, *, member_id: int) -> int | None:
    """Return the row id of the member's referrer (None: no referrer, or no such member)."""
    return session.scalar(select(Member.referrer_id).where(Member.id == member_id))


def insert_member(session: Session, *, member: Member) -> bool:
    """Insert ``member`` inside a savepoint; False when a unique key (card, phone) collided."""
    try:
        with session.begin_nested():
            session.add(member)
            session.flush()
    except IntegrityError:
        return False
    return True


def write_phone(session: Session, *, member: Member, index: str, ciphertext: str) -> bool:
    """Give ``member`` a new phone inside a savepoint; False when another member holds it."""
    try:
        with session.begin_nested():
            member.phone_index = index
            member.phone_enc = ciphertext
            session.flush()
    except IntegrityError:
        return False
    return True


def write_qr_token(
    session: Session, *, member: Member, token_hash: str, expires_at: datetime
) -> None:
    """Give ``member`` a new card QR token (its hash) valid until ``expires_at``."""
    member.qr_token_hash = token_hash
    member.qr_expires_at = expires_at
    session.flush()


def count_members(session: Session) -> int:
    """Return how many members the database holds, over every program."""
    return session.scalar(select(func.count(Member.id))) or 0


def ids_by(
    session: Session, *, program_id: int, column: str, values: Sequence[str]
) -> dict[str, int]:
    """Member row ids by ``column`` (``member_no``, ``phone_index`` or ``external_ref``).

    One statement per call: the history import resolves a batch's members with three.
    """
    if not values:
        return {}
    if column not in _LOOKUP_COLUMNS:
        raise ValueError(f"members are not looked up by {column}")
    connection = session.connection()
    match, wanted = in_values(connection, sorted(set(values)))
    rows = driver_rows(
        connection,
        f"SELECT {column}, id FROM members WHERE program_id = ? AND {column} {match}",  # noqa: S608
        (program_id, wanted),
    )
    return {value: member_id for value, member_id in rows}


#: The columns :func:`ids_by` may match (their names go into its SQL).
_LOOKUP_COLUMNS = frozenset({"member_no", "phone_index", "external_ref"})


def insert_members(session: Session, *, rows: Sequence[dict[str, Any]]) -> None:
    """Insert many members in one multi-row statement (every row with the same keys)."""
    if rows:
        session.connection().execute(insert(table(Member)), list(rows))
