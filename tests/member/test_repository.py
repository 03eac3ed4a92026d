"""The one member lock: every identifier names the same member, and the due check."""

from __future__ import annotations

from datetime import timedelta

import pytest

from memberkit.db import Database
from memberkit.kit.time import utcnow
from memberkit.ledger import service as ledger_service
from memberkit.member import repository
from memberkit.member import service as member_service
from memberkit.member.repository import MemberKey
from memberkit.member.rules import InvalidMember, MemberNotFound
from memberkit.program import service as program_service


def register(database: Database) -> tuple[int, int, str, str]:
    """Register a member and issue a card QR token; return program, id, card, token."""
    with database.session_scope() as session:
        program = program_service.get(session)
        member = member_service.register(session, program_id=program.id, phone="13800138000")
        token, _expires = member_service.rotate_qr(session, member=member)
        return program.id, member.id, member.member_no, token


def test_every_identifier_locks_the_same_member(database: Database) -> None:
    # given a member with a card QR token
    program_id, member_id, member_no, token = register(database)
    expected = MemberKey(member_id, member_no, "active", "regular", points_due=False)
    now = utcnow()

    # when the member is locked by card, phone, QR token and row id
    with database.session_scope() as session:
        by_card = repository.lock_member(
            session, program_id=program_id, member_no=member_no, as_of=now
        )
        by_phone = repository.lock_member(
            session, program_id=program_id, phone="138 0013 8000", as_of=now
        )
        by_qr = repository.lock_member(session, program_id=program_id, qr_token=token, as_of=now)
        by_id = repository.lock_member(session, program_id=program_id, member_id=member_id)
        by_id_as_of = repository.lock_member(
            session, program_id=program_id, member_id=member_id, as_of=now
        )

    # then each gives the same key; by id without as_of the due check is not read
    assert [by_card, by_phone, by_qr, by_id_as_of] == [expected] * 4
    assert by_id == MemberKey(member_id, member_no, "active", "regular", points_due=True)
    # and the posting path's former name is the same function
    assert member_service.lock_for_posting is repository.lock_member


def test_the_key_says_whether_points_are_past_expiry(database: Database) -> None:
    # given a member with a lot that expires in a day
    program_id, member_id, member_no, _token = register(database)
    now = utcnow()
    with database.session_scope() as session:
        ledger_service.adjust(
            session,
            program_id=program_id,
            member_id=member_id,
            points=100,
            reason="welcome",
            actor="test",
            key="adjust:welcome",
            occurred_at=now,
            expires_at=now + timedelta(days=1),
        )

    # when the member is locked as of now and as of two days later
    with database.session_scope() as session:
        today = repository.lock_member(
            session, program_id=program_id, member_no=member_no, as_of=now
        )
        later = repository.lock_member(
            session, program_id=program_id, member_no=member_no, as_of=now + timedelta(days=2)
        )
        later_by_id = repository.lock_member(
            session, program_id=program_id, member_id=member_id, as_of=now + timedelta(days=2)
        )

    # then only the later keys say points are due
    assert (today.points_due, later.points_due, later_by_id.points_due) == (False, True, True)


def test_a_member_of_no_such_name_is_not_found(database: Database) -> None:
    # given a member of the default program
    program_id, member_id, _member_no, _token = register(database)

    # when a card, a row id or a program that does not hold them is named
    with database.session_scope() as session:
        with pytest.raises(MemberNotFound) as by_card:
            repository.lock_member(
                session, program_id=program_id, member_no="800000000000", as_of=utcnow()
            )
        with pytest.raises(MemberNotFound) as by_id:
            repository.lock_member(session, program_id=program_id + 1, member_id=member_id)
        with pytest.raises(MemberNotFound):
            repository.load_member(
                session, program_id=program_id + 1, member_id=member_id, lock=True
            )
        with pytest.raises(InvalidMember):
            repository.lock_member(session, program_id=program_id, as_of=utcnow())

    # then the refusal names what was asked for
    assert by_card.value.params == {"identifier": "800000000000"}
    assert by_id.value.params == {"identifier": f"id {member_id}"}
