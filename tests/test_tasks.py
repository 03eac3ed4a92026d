"""The jobs registry: every job acts on every program, from the scheduler and from the CLI."""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import delete, select
from typer.testing import CliRunner

from memberkit.cli.main import app
from memberkit.config import settings
from memberkit.db import Database
from memberkit.growth.rules import DEFAULT_GROWTH_RULES
from memberkit.kit.time import Timing, local_date, utcnow
from memberkit.ledger.models import Account, AccountCode, Asset
from memberkit.ledger.repository import (
    ensure_system_accounts,
    forget_cached_accounts,
    member_balances,
)
from memberkit.member import service as member_service
from memberkit.member.models import Member
from memberkit.order import service as order_service
from memberkit.program import service as program_service
from memberkit.program.models import Program
from memberkit.scheduler import run_daily
from memberkit.tasks import TASKS
from tests.rest import table_contents

runner = CliRunner()
BOUGHT_AT = utcnow().replace(microsecond=0) - timedelta(days=3)


def open_program(database: Database, code: str) -> int:
    """Set ``code`` up (the default program, or a new one) with its member who bought 900.00
    three days ago: gold at once, points valid one day, growth decaying after one idle day.

    Returns the member's id.
    """
    with database.session_scope() as session:
        if code != "default":
            session.add(
                Program(
                    code=code,
                    name=code.title(),
                    currency="CNY",
                    points_name="积分",
                    points_per_currency_unit=100,
                )
            )
            session.flush()
        program = program_service.get(session, code)
        ensure_system_accounts(session, program_id=program.id)
        program = program_service.configure(
            session,
            program=program,
            points_validity={"type": "rolling_days", "days": 1},
            growth_rules={**DEFAULT_GROWTH_RULES, "decay": {"after_days": 1, "share": "0.2"}},
        )
        member = member_service.register(session, program_id=program.id, phone="13800138000")
        order_service.post_order(
            session,
            program=program,
            order=order_service.OrderIn(
                external_id="O-1",
                member=order_service.MemberRef(member_no=member.member_no),
                store_code=None,
                channel="store",
                occurred_at=BOUGHT_AT,
                lines=[order_service.LineIn("A1", "礼盒", "gift", 1, 90000, 90000)],
                payments=[order_service.PaymentIn("cash", 90000)],
            ),
            timing=Timing.replay(BOUGHT_AT),  # history, posted as if at its own time
        )
        return member.id


def state(database: Database, member_id: int) -> tuple[int, int, str]:
    """The member's points, growth and tier."""
    with database.session_scope() as session:
        balances = member_balances(session, member_id=member_id)
        tier = session.scalars(select(Member.tier_code).where(Member.id == member_id)).one()
    return balances["points"], balances["growth"], tier


def review_day(database: Database, member_id: int) -> datetime:
    """When the member's tier period ends."""
    with database.session_scope() as session:
        at = session.scalars(select(Member.tier_review_at).where(Member.id == member_id)).one()
    assert at is not None
    return at


def break_expiry_of(database: Database, code: str) -> None:
    """Remove the program's expired-points account, so that its expiry job fails."""
    with database.session_scope() as session:
        program_id = session.scalars(select(Program.id).where(Program.code == code)).one()
        session.execute(
            delete(Account).where(
                Account.program_id == program_id,
                Account.member_id.is_(None),
                Account.asset == Asset.points,
                Account.code == AccountCode.expired,
            )
        )
    forget_cached_accounts()  # system accounts never change but here, so they are cached


def said(output: str) -> list[str]:
    """The command's sentences and headings (progress bars left out, wrapped lines joined)."""
    labels = ("Expiring points", "Decaying growth", "Reviewing tiers", "Refreshing RFM")
    lines = [line for line in output.splitlines() if not line.startswith(labels)]
    return re.split(r"(?<=\.) |(?<=\):) | (?=Program )", " ".join(" ".join(lines).split()))


def test_the_registry_names_every_job_in_running_order() -> None:
    assert [task.name for task in TASKS] == [
        "expire-points",
        "decay-growth",
        "review-tiers",
        "birthday-coupons",
        "purge-idempotency",
        "purge-sessions",
        "purge-outbox",
        "refresh-rfm",
        "forecast-refit",
        "refresh-segments",
    ]


def test_the_daily_run_acts_on_every_program(database: Database) -> None:
    # given two programs, each with a gold member whose points expired and growth is idle
    default = open_program(database, "default")
    shadow = open_program(database, "shadow")
    assert state(database, default) == state(database, shadow) == (900, 900, "gold")

    # when the daily jobs run as of the end of the members' tier period
    failed = run_daily(database, as_of=review_day(database, default) + timedelta(hours=2))

    # then in both programs the points expired, 20% of growth decayed, and the review,
    # judging 720 growth, moved the member down to silver
    assert failed == []
    assert state(database, default) == state(database, shadow) == (0, 720, "silver")


def test_a_job_failing_for_one_program_still_runs_for_the_others(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    # given two programs, the first of which cannot expire points (its account is missing)
    default = open_program(database, "default")
    shadow = open_program(database, "shadow")
    break_expiry_of(database, "default")

    # when the daily jobs run
    with caplog.at_level(logging.INFO, logger="memberkit.scheduler"):
        failed = run_daily(database, as_of=utcnow())

    # then only the first program's expiry failed, and was logged; everything else ran: the
    # decay (which restores the program's system accounts) is a member event, so it expired
    # the points due before it decayed the growth, as every member event does
    assert failed == ["expire-points:default"]
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR] == [
        "expire-points failed for program default"
    ]
    assert state(database, default) == (0, 720, "gold")
    assert state(database, shadow) == (0, 720, "gold")
    assert "expire-points [shadow]: 900 points expired in 1 lots of 1 members." in caplog.messages


def test_each_job_by_hand_reports_per_program(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given two programs with the same story
    default = open_program(database, "default")
    shadow = open_program(database, "shadow")
    ends = local_date(review_day(database, default))
    monkeypatch.setattr(settings, "default_locale", "en")

    # when every job runs dry (the review as of the period's end), then each program reports
    def dry(*args: str) -> list[str]:
        result = runner.invoke(app, ["jobs", *args, "--dry-run"])
        assert result.exit_code == 0, result.output
        return said(result.output)

    before = table_contents(database)
    assert dry("expire-points") == [
        "Program default (Memberkit):",
        "Dry run: 900 points would expire in 1 lots of 1 members.",
        "Program shadow (Shadow):",
        "Dry run: 900 points would expire in 1 lots of 1 members.",
        "Nothing was changed (dry run).",
    ]
    assert dry("decay-growth") == [
        "Program default (Memberkit):",
        "Dry run: 180 growth would decay from 1 members.",
        "Program shadow (Shadow):",
        "Dry run: 180 growth would decay from 1 members.",
        "Nothing was changed (dry run).",
    ]
    review = [
        "Dry run: 1 members would be reviewed: 0 would keep their tier, 1 would move down.",
        "Dry run: 0 grace notices would be recorded for reviews in the next 30 days.",
    ]
    assert dry("review-tiers", "--as-of", ends.isoformat()) == [
        "Program default (Memberkit):",
        *review,
        "Program shadow (Shadow):",
        *review,
        "Nothing was changed (dry run).",
    ]
    assert dry("purge-idempotency") == [
        "Program default (Memberkit):",
        "Dry run: 0 idempotency records would be purged.",
        "Program shadow (Shadow):",
        "Dry run: 0 idempotency records would be purged.",
    ]
    assert table_contents(database) == before

    # when expiry runs for real, with the first program's expiry broken
    break_expiry_of(database, "default")
    result = runner.invoke(app, ["jobs", "expire-points"])

    # then the first program's failure is reported, the second's points expired, exit code 1
    assert result.exit_code == 1, result.output
    assert said(result.output) == [
        "Program default (Memberkit):",
        "expire-points failed for program default: LookupError: system account "
        f"points/expired missing for program {_id(database, 'default')}",
        "Program shadow (Shadow):",
        "900 points expired in 1 lots of 1 members.",
    ]
    assert state(database, default)[0] == 900
    assert state(database, shadow)[0] == 0


def _id(database: Database, code: str) -> int:
    with database.session_scope() as session:
        return session.scalars(select(Program.id).where(Program.code == code)).one()
