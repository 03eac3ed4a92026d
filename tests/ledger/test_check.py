"""What ``memberkit ledger check`` reports beyond the ledger's own promises."""

from __future__ import annotations

from datetime import timedelta

import pytest
from typer.testing import CliRunner

from memberkit.cli.main import app
from memberkit.config import settings
from memberkit.db import Database
from memberkit.growth import decay
from memberkit.growth.rules import DEFAULT_GROWTH_RULES
from memberkit.kit.time import utcnow
from memberkit.ledger.check import check
from memberkit.ledger.repository import member_balances
from memberkit.member import service as member_service
from memberkit.order import service as order_service
from memberkit.program import service as program_service
from tests.conftest import set_rules


def test_growth_below_zero_after_decay_and_a_refund_is_reported(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a member whose 900 growth from an order partly decayed before the order came back
    program = set_rules(
        database, growth_rules={**DEFAULT_GROWTH_RULES, "decay": {"after_days": 1, "share": "0.2"}}
    )
    with database.session_scope() as session:
        member = member_service.register(session, program_id=program.id, phone="13800138000")
        order_service.post_order(
            session,
            program=program,
            order=order_service.OrderIn(
                external_id="O-1",
                member=order_service.MemberRef(member_no=member.member_no),
                store_code=None,
                channel="store",
                occurred_at=utcnow() - timedelta(days=3),
                lines=[order_service.LineIn("A1", "礼盒", "gift", 1, 90000, 90000)],
                payments=[order_service.PaymentIn("cash", 90000)],
            ),
        )
    assert decay.run(database, program=program, as_of=utcnow()).growth == 180
    with database.session_scope() as session:
        order_service.post_refund(
            session,
            program=program_service.get(session),
            refund=order_service.RefundIn("RF-1", "O-1", occurred_at=utcnow()),
        )
        assert member_balances(session, member_id=member.id)["growth"] == -180

    # when the ledger is checked
    with database.session_scope() as session:
        report = check(session)
    monkeypatch.setattr(settings, "default_locale", "en")
    command = CliRunner().invoke(app, ["ledger", "check"])

    # then the ledger holds, and the negative growth is reported like a points debt
    assert (report.ok, report.debts, report.growth_debts) == (True, [], [(member.member_no, 180)])
    assert command.exit_code == 0, command.output
    assert " ".join(command.output.split()).startswith(
        f"Member {member.member_no} has negative growth, -180 (a refund took back growth that "
        "had already decayed). Ledger holds:"
    )
