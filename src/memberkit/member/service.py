"""Members: registration, look-up, changes, the rotating card QR token."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from random import Random
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy.orm import Session

from memberkit import events
from memberkit.errors import Conflict
from memberkit.kit import crypto
from memberkit.kit.i18n import Text, _
from memberkit.kit.time import today, utcnow
from memberkit.ledger import repository as ledger_repository
from memberkit.member import repository
from memberkit.member.models import Member, MemberStatus
from memberkit.member.repository import MemberKey as MemberKey
from memberkit.member.repository import lock_member
from memberkit.member.rules import InvalidMember as InvalidMember
from memberkit.member.rules import InvalidPhone, new_member_no, normalize_phone, valid_email
from memberkit.member.rules import MemberNotFound as MemberNotFound
from memberkit.member.rules import name_index as name_index
from memberkit.member.rules import phone_index as phone_index
from memberkit.program import service as program_service
from memberkit.store import queries as store_queries
from memberkit.store import service as store_service

if TYPE_CHECKING:  # the ladder's types; the tier domain owns the ladder, read as a section
    from memberkit.tier.rules import Ladder, Tier

QR_TOKEN_LIFETIME = timedelta(minutes=5)
GENDERS = ("male", "female", "unknown")


class MemberExists(Conflict):
    """The phone number is already registered."""

    code = "member_exists"
    message = _("A member with this phone number already exists ({member_no}).")


class MemberInactive(Conflict):
    """Frozen or closed members neither earn nor spend."""

    code = "member_inactive"
    message = _("Member {member_no} is {status}: no earning, spending or recharging.")


class MemberClosed(Conflict):
    """A closed membership cannot change any more."""

    code = "member_closed"
    message = _("Member {member_no} is closed and cannot be changed.")


@dataclass(frozen=True)
class MemberView:
    """A member with PII decrypted and balances, as the API shows one."""

    member_no: str
    status: str
    phone: str
    name: str | None
    gender: str | None
    birthday: date | None
    email: str | None
    store_code: str | None
    channel: str
    referrer_member_no: str | None
    tags: list[str]
    points_balance: int
    growth_balance: int
    wallet_balance: int
    created_at: datetime


def _check_profile(*, gender: str | None, birthday: date | None, email: str | None) -> None:
    if gender is not None and gender not in GENDERS:
        raise InvalidMember(
            problem=Text(_("gender must be one of {choices}"), choices=", ".join(GENDERS))
        )
    if birthday is not None and not date(1900, 1, 1) <= birthday <= today():
        raise InvalidMember(problem=Text(_("birthday must be between 1900-01-01 and today")))
    if email is not None and not valid_email(email):
        raise InvalidMember(problem=Text(_("{email} is not an e-mail address"), email=email))


#: The encrypted fields of a member, by name: column and where its value is bound.
PERSONAL_FIELDS = ("phone", "name", "email", "birthday")


def _place(program_id: int, member_no: str, field: str) -> str:
    # The card number never changes and is known before the insert (unlike the row id).
    return f"members:{program_id}:{member_no}:{field}"


def _seal(program_id: int, member_no: str, field: str, value: str | None) -> str | None:
    return crypto.encrypt(value, context=_place(program_id, member_no, field))


class MemberDataUnreadable(Conflict):
    """A member's encrypted field does not decrypt: altered, moved from another row, other key."""

    code = "member_data_unreadable"
    message = _(
        "The personal data of member {member_no} cannot be decrypted: it was altered, or"
        " encrypted with another secret key. Restore it from a backup."
    )


def _open(member: Member, field: str) -> str | None:
    return _unseal(member.program_id, member.member_no, field, getattr(member, f"{field}_enc"))


def _unseal(program_id: int, member_no: str, field: str, ciphertext: str | None) -> str | None:
    try:
        return crypto.decrypt(ciphertext, context=_place(program_id, member_no, field))
    except crypto.CiphertextError as exc:
        raise MemberDataUnreadable(member_no=member_no) from exc


def register(
    session: Session,
    *,
    program_id: int,
    phone: str,
    name: str | None = None,
    gender: str | None = None,
    birthday: date | None = None,
    email: str | None = None,
    store_code: str | None = None,
    channel: str = "store",
    referrer_member_no: str | None = None,
    tags: list[str] | None = None,
    registered_at: datetime | None = None,
    rng: Random | None = None,
) -> Member:
    """Enrol a new member with an empty points and growth account."""
    normalized = normalize_phone(phone)
    if normalized is None:
        raise InvalidPhone(phone=phone)
    _check_profile(gender=gender, birthday=birthday, email=email)
    index = crypto.blind_index(normalized)
    taken = repository.member_no_by_phone(session, program_id=program_id, index=index)
    if taken is not None:
        raise MemberExists(member_no=taken)
    store_id = (
        store_service.get(session, program_id=program_id, code=store_code).id
        if store_code
        else None
    )
    referrer_id = (
        find(session, program_id=program_id, member_no=referrer_member_no).id
        if referrer_member_no
        else None
    )
    moment = registered_at or utcnow()
    ladder = cast("Ladder", program_service.stored(session, program_id=program_id, name="ladder"))
    tier_code = ladder.entry.code
    for _attempt in range(10):
        # The card number is drawn before the insert, so the ciphertexts can be bound to it.
        member_no = new_member_no(rng)
        member = Member(
            program_id=program_id,
            member_no=member_no,
            phone_index=index,
            phone_enc=_seal(program_id, member_no, "phone", normalized),
            name_enc=_seal(program_id, member_no, "name", name),
            name_index=name_index(name),
            email_enc=_seal(program_id, member_no, "email", email),
            birthday_enc=_seal(
                program_id, member_no, "birthday", birthday.isoformat() if birthday else None
            ),
            gender=gender,
            store_id=store_id,
            channel=channel,
            referrer_id=referrer_id,
            tags=sorted(set(tags or [])),
            status=MemberStatus.active,
            tier_code=tier_code,
            created_at=moment,
            updated_at=moment,
        )
        if not repository.insert_member(session, member=member):
            # A card-number collision retries; a phone registered meanwhile is refused.
            taken = repository.member_no_by_phone(session, program_id=program_id, index=index)
            if taken is not None:
                raise MemberExists(member_no=taken) from None
            continue
        ledger_repository.create_member_accounts(
            session, program_id=program_id, member_id=member.id
        )
        repository.write_tags(session, member=member)
        events.emit(
            session,
            program_id=program_id,
            type=events.EventType.member_registered,
            member_id=member.id,
            occurred_at=moment,
            payload={
                "store_code": store_code,
                "channel": channel,
                "referrer_member_no": referrer_member_no,
                "tier": tier_code,
                "tags": member.tags,
            },
        )
        _react_to_registration(session, member, moment)
        return member
    raise RuntimeError("could not allocate a card number")


def _react_to_registration(session: Session, member: Member, at: datetime) -> None:
    """Run what the domains above members do on a registration (welcome coupons …)."""
    # The registry imports the domains that react, which import this module: read it late.
    from memberkit.reactions import ON_REGISTERED

    for react in ON_REGISTERED:
        react(session, member, at)


@dataclass(frozen=True)
class TierOutcome:
    """A member's tier after an event; whether the event moved it up, or a refund back.

    Every event that answers with the member's tier (orders, refunds, recharges, behaviour
    events) carries it, so it lives with the member, below the domains that report it.
    """

    level: int
    code: str
    name: str
    upgraded: bool
    reverted: bool = False

    @classmethod
    def of(cls, tier: Tier, *, upgraded: bool = False, reverted: bool = False) -> TierOutcome:
        """Describe a tier of the ladder."""
        return cls(tier.level, tier.code, tier.name, upgraded, reverted)


@dataclass(frozen=True)
class MemberRef:
    """A member named by card number, phone or card QR token."""

    member_no: str | None = None
    phone: str | None = None
    qr_token: str | None = None


def find(
    session: Session,
    *,
    program_id: int,
    member_no: str | None = None,
    phone: str | None = None,
    qr_token: str | None = None,
    lock: bool = False,
) -> Member:
    """Return the member named by exactly one identifier; ``lock`` holds its row until commit.

    The lock (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite transactions are already
    serialized) is what serializes every balance change of one member.
    """
    return repository.load_member(
        session,
        program_id=program_id,
        member_no=member_no,
        phone=phone,
        qr_token=qr_token,
        lock=lock,
    )


#: The lock of the posting path, by its former name (the lean form of :func:`find`).
lock_for_posting = lock_member


def require_open(member: Member | MemberKey) -> None:
    """Refuse any change to a closed membership."""
    if member.status == MemberStatus.closed:
        raise MemberClosed(member_no=member.member_no)


def require_active(member: Member | MemberKey) -> None:
    """Refuse earning and spending for a frozen or closed member."""
    if member.status != MemberStatus.active:
        raise MemberInactive(member_no=member.member_no, status=member.status)


def view(session: Session, member: Member) -> MemberView:
    """Return the member as the API shows it, PII decrypted."""
    balances = ledger_repository.member_balances(session, member_id=member.id)
    store_code = (
        store_queries.code_of(session, store_id=member.store_id) if member.store_id else None
    )
    referrer = (
        repository.member_no_of(session, member_id=member.referrer_id)
        if member.referrer_id
        else None
    )
    birthday = _open(member, "birthday")
    return MemberView(
        member_no=member.member_no,
        status=member.status,
        phone=_open(member, "phone") or "",
        name=_open(member, "name"),
        gender=member.gender,
        birthday=date.fromisoformat(birthday) if birthday else None,
        email=_open(member, "email"),
        store_code=store_code,
        channel=member.channel,
        referrer_member_no=referrer,
        tags=list(member.tags or []),
        points_balance=balances.get("points", 0)
        - ledger_repository.due_points(session, member_id=member.id, as_of=utcnow()),
        growth_balance=balances.get("growth", 0),
        wallet_balance=balances.get("wallet_principal", 0) + balances.get("wallet_bonus", 0),
        created_at=member.created_at,
    )


def change(session: Session, *, member: Member, changes: dict[str, Any]) -> Member:
    """Apply profile and status changes given in ``changes`` (only keys present change)."""
    if member.status == MemberStatus.closed:
        raise MemberClosed(member_no=member.member_no)
    before = _profile(member)
    _check_profile(
        gender=changes.get("gender"), birthday=changes.get("birthday"), email=changes.get("email")
    )
    if "phone" in changes:
        normalized = normalize_phone(changes["phone"] or "")
        if normalized is None:
            raise InvalidPhone(phone=changes["phone"])
        index = crypto.blind_index(normalized)
        taken = repository.member_no_by_phone(
            session, program_id=member.program_id, index=index, other_than=member.id
        )
        if taken is not None:
            raise MemberExists(member_no=taken)
        if not repository.write_phone(
            session,
            member=member,
            index=index,
            ciphertext=_seal(member.program_id, member.member_no, "phone", normalized) or "",
        ):
            # Another request gave this phone to another member after our check.
            holder = repository.member_no_by_phone(
                session, program_id=member.program_id, index=index
            )
            raise MemberExists(member_no=holder or "") from None
    if "name" in changes:
        member.name_enc = _seal(member.program_id, member.member_no, "name", changes["name"])
        member.name_index = name_index(changes["name"])
    if "email" in changes:
        member.email_enc = _seal(member.program_id, member.member_no, "email", changes["email"])
    if "birthday" in changes:
        birthday = changes["birthday"]
        member.birthday_enc = _seal(
            member.program_id,
            member.member_no,
            "birthday",
            birthday.isoformat() if birthday else None,
        )
    if "gender" in changes:
        member.gender = changes["gender"]
    if "tags" in changes:
        member.tags = sorted(set(changes["tags"] or []))
        repository.write_tags(session, member=member)
    if "status" in changes:
        if changes["status"] not in set(MemberStatus):
            raise InvalidMember(problem=Text(_("status must be active, frozen or closed")))
        member.status = changes["status"]
    member.updated_at = utcnow()
    session.flush()
    after = _profile(member)
    if changed := sorted(name for name in after if after[name] != before[name]):
        events.emit(
            session,
            program_id=member.program_id,
            type=events.EventType.member_updated,
            member_id=member.id,
            occurred_at=member.updated_at,
            payload={"changed": changed, "status": member.status, "tags": list(member.tags)},
        )
    return member


def _profile(member: Member) -> dict[str, Any]:
    """What a change may change, comparable (personal data decrypted, never emitted)."""
    return {
        "phone": member.phone_index,
        "name": _open(member, "name"),
        "email": _open(member, "email"),
        "birthday": _open(member, "birthday"),
        "gender": member.gender,
        "tags": sorted(member.tags or []),
        "status": member.status,
    }


def rotate_qr(session: Session, *, member: Member) -> tuple[str, datetime]:
    """Issue a new card QR token (the old one stops working); returns it and its expiry.

    Only active members get one: the card of a frozen or closed member must not be usable.
    """
    require_active(member)
    token = secrets.token_urlsafe(18)
    expires_at = utcnow() + QR_TOKEN_LIFETIME
    repository.write_qr_token(
        session, member=member, token_hash=crypto.token_hash(token), expires_at=expires_at
    )
    return token, expires_at


def reencrypt(session: Session, *, batch: int = 500) -> int:
    """Rewrite up to ``batch`` members' legacy (v1) ciphertexts as v2, bound to their place.

    Returns how many members were rewritten; repeat until it returns 0 (a backfill run by
    ``memberkit db reencrypt``). Members are locked while rewritten.
    """
    members = repository.lock_legacy_batch(session, fields=PERSONAL_FIELDS, batch=batch)
    for member in members:
        for field in PERSONAL_FIELDS:
            stored = getattr(member, f"{field}_enc")
            if crypto.is_legacy(stored):
                setattr(
                    member,
                    f"{field}_enc",
                    _seal(member.program_id, member.member_no, field, _open(member, field)),
                )
    session.flush()
    return len(members)


def reindex_names(session: Session, *, after: int, batch: int = 1000) -> tuple[int, int] | None:
    """Index the names of up to ``batch`` members past row id ``after`` that have none yet.

    Returns (the last row id looked at, how many were given an index), or None when no
    member is left: the backfill of ``memberkit db reindex-names`` for members registered
    before names were indexed. Each member is locked while written; nothing else of theirs
    changes (not ``updated_at``: the profile did not change).
    """
    rows = repository.lock_unindexed_names(session, after=after, batch=batch)
    if not rows:
        return None
    indexes = {
        row.id: name_index(_unseal(row.program_id, row.member_no, "name", row.name_enc))
        for row in rows
    }
    repository.write_name_indexes(session, indexes=indexes)
    return rows[-1].id, sum(1 for index in indexes.values() if index is not None)


def unindexed_names(session: Session) -> int:
    """How many members have a name but no name index (what the backfill has to do)."""
    return repository.count_unindexed_names(session)


def personal(member: Member) -> dict[str, str | None]:
    """Return a member's personal data decrypted: phone, name, e-mail, birthday (ISO)."""
    return {field: _open(member, field) for field in PERSONAL_FIELDS}


@dataclass(frozen=True)
class HistoryMember:
    """A customer of the merchant's old system, enrolled by the history import."""

    phone: str  # normalized
    external_ref: str | None
    store_id: int | None
    channel: str
    joined_at: datetime


def enrol_history(
    session: Session, *, program_id: int, people: Sequence[HistoryMember]
) -> dict[str, int]:
    """Enrol customers of the old system in bulk; returns each new member's id by phone index.

    For the history import only: no ``member_registered`` event and no reactions (no welcome
    coupon for a customer of years ago), the entry tier, empty accounts. The caller has made
    sure no member holds these phones or external refs; card numbers are drawn and those
    already taken drawn again before the insert.
    """
    if not people:
        return {}
    ladder = cast("Ladder", program_service.stored(session, program_id=program_id, name="ladder"))
    numbers: list[str] = []
    wanted = len(people)
    while len(numbers) < wanted:
        drawn = {new_member_no() for _ in range(wanted - len(numbers))} - set(numbers)
        taken = repository.ids_by(
            session, program_id=program_id, column="member_no", values=sorted(drawn)
        )
        numbers.extend(sorted(drawn - set(taken)))
    rows: list[dict[str, Any]] = []
    for person, member_no in zip(people, numbers, strict=False):
        rows.append(
            {
                "program_id": program_id,
                "member_no": member_no,
                "phone_index": crypto.blind_index(person.phone),
                "phone_enc": _seal(program_id, member_no, "phone", person.phone),
                "name_enc": None,
                "name_index": None,
                "email_enc": None,
                "birthday_enc": None,
                "gender": None,
                "store_id": person.store_id,
                "channel": person.channel,
                "referrer_id": None,
                "tags": [],
                "status": MemberStatus.active.value,
                "tier_code": ladder.entry.code,
                "external_ref": person.external_ref,
                "created_at": person.joined_at,
                "updated_at": person.joined_at,
            }
        )
    repository.insert_members(session, rows=rows)
    ids = repository.ids_by(
        session,
        program_id=program_id,
        column="phone_index",
        values=[row["phone_index"] for row in rows],
    )
    ledger_repository.create_accounts_of(session, program_id=program_id, member_ids=ids.values())
    return ids
