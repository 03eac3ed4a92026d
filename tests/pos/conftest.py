"""Fixtures of the cashier screen's tests: the staff accounts of the staff tests, a member."""

from __future__ import annotations

import pytest

from memberkit.db import Database
from memberkit.program.service import ProgramConfig
from memberkit.staff.rules import Actor
from memberkit.wallet import service as wallet_service
from tests.factories import make_member, post_order
from tests.staff.conftest import PASSWORDS, cheap_hashes, staff

__all__ = ["PASSWORDS", "cheap_hashes", "member", "staff"]

PHONE = "13912345678"


@pytest.fixture
def member(database: Database, program: ProgramConfig, staff: dict[str, Actor]) -> str:
    """A member of SH001 named 张三丰 holding 500 points and ¥300.00 of stored value."""
    with database.session_scope() as session:
        made = make_member(session, program, phone=PHONE, name="张三丰", store_code="SH001")
        post_order(session, program, made, amount_minor=50000, store_code="SH001")
        wallet_service.recharge(
            session,
            program=program,
            member_no=made.member_no,
            external_id="W-1",
            amount_minor=30000,
            method="cash",
            store_code="SH001",
            occurred_at=made.created_at,
        )
        return made.member_no
