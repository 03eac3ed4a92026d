"""A member's RFM row follows their order, on the after-commit thread, not in the order."""

from __future__ import annotations

from sqlalchemy import select

from memberkit.analytics import service
from memberkit.analytics.models import MemberRfm
from memberkit.db import Database
from memberkit.pipeline import BACKGROUND
from memberkit.program.service import ProgramConfig
from tests.factories import make_member, post_order


def rfm(database: Database, member_id: int) -> tuple[int, int, str]:
    with database.session_scope(read_only=True) as session:
        row = session.scalars(select(MemberRfm).where(MemberRfm.member_id == member_id)).one()
        return row.frequency, row.monetary_minor, row.lifecycle


def test_an_order_refreshes_its_members_rfm_row_after_commit(
    database: Database, program: ProgramConfig
) -> None:
    # Given a member who never bought, and a full refresh that scored the program
    with database.session_scope() as session:
        ann = make_member(session, program)
        bob = make_member(session, program)
    with database.session_scope() as session:
        post_order(session, program, bob, amount_minor=9000)
    assert BACKGROUND.settle()
    with database.session_scope() as session:
        service.refresh(session, program=program)
    assert rfm(database, ann.id) == (0, 0, "new")
    # When Ann's order of ¥60.00 commits
    with database.session_scope() as session:
        post_order(session, program, ann, amount_minor=6000)
    # Then, once the after-commit thread has run, her row counts it; Bob's is as it was
    assert BACKGROUND.settle()
    assert rfm(database, ann.id) == (1, 6000, "new")
    assert rfm(database, bob.id) == (1, 9000, "new")
