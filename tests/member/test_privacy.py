"""Members' personal data at rest: bound to its member, legacy values re-encrypted."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from memberkit.cli.main import app
from memberkit.db import Database
from memberkit.kit.i18n import translate
from memberkit.member import service
from memberkit.member.models import Member
from memberkit.program import service as program_service
from tests.kit.test_crypto import legacy_encrypt


def register(database: Database, phone: str, name: str) -> str:
    with database.session_scope() as session:
        program = program_service.get(session)
        member = service.register(
            session,
            program_id=program.id,
            phone=phone,
            name=name,
            email=f"{phone}@example.com",
        )
        return member.member_no


def test_swapping_two_members_phones_in_the_database_is_noticed(database: Database) -> None:
    # given two members
    first = register(database, "13800138000", "张三")
    second = register(database, "13900139000", "李四")
    # when someone with write access swaps their encrypted phones
    with database.session_scope() as session:
        rows = dict(session.execute(select(Member.member_no, Member.phone_enc)).all())
        for member_no, other in ((first, second), (second, first)):
            session.execute(
                update(Member).where(Member.member_no == member_no).values(phone_enc=rows[other])
            )
    # then reading either member fails instead of showing the other's phone
    with database.session_scope() as session:
        member = service.find(session, program_id=program_service.get(session).id, member_no=first)
        with pytest.raises(service.MemberDataUnreadable):
            service.view(session, member)


def test_reencrypt_rewrites_legacy_values_bound_to_their_member(database: Database) -> None:
    # given a member whose values were written in the legacy v1 format
    no = register(database, "13800138000", "张三")
    with database.session_scope() as session:
        session.execute(
            update(Member)
            .where(Member.member_no == no)
            .values(
                phone_enc=legacy_encrypt("13800138000"),
                name_enc=legacy_encrypt("张三"),
                email_enc=legacy_encrypt("13800138000@example.com"),
            )
        )
    with database.session_scope() as session:
        member = service.find(session, program_id=program_service.get(session).id, member_no=no)
        assert service.view(session, member).name == "张三"  # legacy values still read
    # when the backfill runs (twice: it is safe to repeat)
    first = CliRunner().invoke(app, ["db", "reencrypt"])
    second = CliRunner().invoke(app, ["db", "reencrypt"])
    # then every value is v2, reads the same, and the second run had nothing to do
    assert first.exit_code == 0, first.output
    done = "{members} members re-encrypted."
    assert first.output.strip() == translate(done, members=1)
    assert second.output.strip() == translate(done, members=0)
    with database.session_scope() as session:
        member = service.find(session, program_id=program_service.get(session).id, member_no=no)
        stored = [member.phone_enc, member.name_enc, member.email_enc]
        assert [value[:3] if value else None for value in stored] == ["v2:", "v2:", "v2:"]
        view = service.view(session, member)
        assert (view.phone, view.name, view.email) == (
            "13800138000",
            "张三",
            "13800138000@example.com",
        )
