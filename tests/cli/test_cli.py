"""The memberkit command, run in-process against the test database."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select
from typer.testing import CliRunner

from memberkit.cli.main import app
from memberkit.db import Database
from memberkit.kit.time import Timing, utcnow
from memberkit.ledger.models import PointsLot
from memberkit.member import service as member_service
from memberkit.member.models import Member
from memberkit.order import service as order_service
from memberkit.program import service as program_service
from memberkit.wallet.models import WalletRecharge
from tests.conftest import set_rules

runner = CliRunner()


def test_apikey_create_prints_the_key_alone_on_the_last_line(database: Database) -> None:
    result = runner.invoke(app, ["apikey", "create", "--name", "POS", "--scope", "pos"])
    assert result.exit_code == 0, result.output
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("mk_") and " " not in last

    bad = runner.invoke(app, ["apikey", "create", "--name", "x", "--scope", "root"])
    assert bad.exit_code == 2
    unknown_store = runner.invoke(
        app, ["apikey", "create", "--name", "x", "--scope", "pos", "--store", "NOPE"]
    )
    assert unknown_store.exit_code == 2


def test_import_members_reports_bad_rows_and_is_idempotent(
    database: Database, tmp_path: Path
) -> None:
    csv_file = tmp_path / "members.csv"
    csv_file.write_text(
        "phone,name,gender,birthday,email,store_code,channel,tags\n"
        "13800138000,张三,male,1990-05-01,zs@example.com,,store,vip;coffee\n"
        "12345,坏号码,,,,,,\n"
        "13900139000,李四,female,1990-13-01,,,,\n"
        "13700137000,王五,,,,,online,\n",
        encoding="utf-8",
    )
    first = runner.invoke(app, ["import", "members", str(csv_file)])
    assert first.exit_code == 1
    assert "Row 3" in first.output or "第 3 行" in first.output
    assert "Row 4" in first.output or "第 4 行" in first.output
    with database.session_scope() as session:
        assert session.scalar(select(func.count(Member.id))) == 2

    second = runner.invoke(app, ["import", "members", str(csv_file)])
    with database.session_scope() as session:
        assert session.scalar(select(func.count(Member.id))) == 2
        member = member_service.find(
            session, program_id=program_service.get(session).id, phone="13800138000"
        )
        view = member_service.view(session, member)
    assert (view.name, view.tags, view.email) == ("张三", ["coffee", "vip"], "zs@example.com")
    assert second.exit_code == 1  # the two bad rows are still bad


def test_expire_points_as_of_a_date_and_ledger_check(database: Database) -> None:
    set_rules(database, points_validity={"type": "rolling_days", "days": 30})
    from datetime import UTC, datetime

    with database.session_scope() as session:
        program = program_service.get(session)
        member = member_service.register(session, program_id=program.id, phone="13800138000")
        order_service.post_order(
            session,
            program=program,
            order=order_service.OrderIn(
                external_id="O-1",
                member=order_service.MemberRef(member_no=member.member_no),
                store_code=None,
                channel="store",
                occurred_at=datetime(2026, 1, 10, 2, 0, tzinfo=UTC),
                lines=[order_service.LineIn("A1", "拿铁", "coffee", 1, 5000, 5000)],
                payments=[order_service.PaymentIn("cash", 5000)],
            ),
            timing=Timing.replay(datetime(2026, 1, 10, 2, 0, tzinfo=UTC)),  # history
        )
    # Earned 2026-01-10 local; valid 30 days, through 2026-02-09: not yet expired on the 9th.
    early = runner.invoke(app, ["jobs", "expire-points", "--as-of", "2026-02-09"])
    assert early.exit_code == 0, early.output
    with database.session_scope() as session:
        assert session.scalar(select(func.sum(PointsLot.remaining))) == 50

    due = runner.invoke(app, ["jobs", "expire-points", "--as-of", "2026-02-10"])
    again = runner.invoke(app, ["jobs", "expire-points", "--as-of", "2026-02-10"])
    assert (due.exit_code, again.exit_code) == (0, 0)
    with database.session_scope() as session:
        assert session.scalar(select(func.sum(PointsLot.remaining))) == 0
        from memberkit.ledger.repository import member_balances

        assert member_balances(session, member_id=member.id)["points"] == 0

    check = runner.invoke(app, ["ledger", "check"])
    assert check.exit_code == 0, check.output

    bad = runner.invoke(app, ["jobs", "expire-points", "--as-of", "yesterday"])
    assert bad.exit_code == 2


def test_demo_loads_a_consistent_data_set_once(database: Database) -> None:
    result = runner.invoke(app, ["demo", "--members", "40", "--orders", "400", "--seed", "7"])
    assert result.exit_code == 0, result.output
    with database.session_scope() as session:
        assert session.scalar(select(func.count(Member.id))) == 40
        # every tier period that ended in the two years has been reviewed
        overdue = select(func.count(Member.id)).where(Member.tier_review_at <= utcnow())
        assert session.scalar(overdue) == 0
        assert (session.scalar(select(func.count(WalletRecharge.id))) or 0) > 0
    assert runner.invoke(app, ["ledger", "check"]).exit_code == 0
    skipped = runner.invoke(app, ["demo", "--if-empty"])
    assert skipped.exit_code == 0
    refused = runner.invoke(app, ["demo"])
    assert refused.exit_code == 1
