"""``memberkit analytics refresh`` and ``memberkit jobs refresh-rfm``: refresh and summarize."""

from __future__ import annotations

from sqlalchemy import select
from typer.testing import CliRunner

from memberkit.analytics.models import MemberRfm
from memberkit.cli.main import app
from memberkit.db import Database
from memberkit.member.models import Member
from tests.analytics.test_service import eight

__all__ = ["eight"]

runner = CliRunner()


def test_the_refresh_command_refreshes_and_summarizes(
    database: Database, eight: dict[str, Member]
) -> None:
    result = runner.invoke(app, ["analytics", "refresh", "--as-of", "2026-06-30"])
    assert result.exit_code == 0, result.output
    lines = [line.strip() for line in result.output.splitlines()]
    assert lines[2].startswith("RFM 已刷新（截至 2026-06-30）：会员 8 人，5 人参与评分，用时")
    assert lines[3:8] == ["新客: 2", "活跃客户: 2", "回流客户: 1", "沉睡客户: 2", "流失客户: 1"]
    assert "重要价值客户: 1" in lines and "一般挽留客户: 2" in lines
    with database.session_scope() as s:
        rows = s.scalars(select(MemberRfm)).all()
        assert len(rows) == 8
        assert {r.lifecycle for r in rows if r.member_id == eight["m4"].id} == {"won_back"}


def test_the_refresh_command_refuses_an_unknown_program_and_a_bad_date(
    database: Database, eight: dict[str, Member]
) -> None:
    unknown = runner.invoke(app, ["analytics", "refresh", "--program", "nope"])
    bad = runner.invoke(app, ["analytics", "refresh", "--as-of", "yesterday"])
    assert (unknown.exit_code, bad.exit_code) == (2, 2)
    with database.session_scope() as s:
        assert s.scalars(select(MemberRfm)).all() == []


def test_the_daily_job_refreshes_as_of_its_day(
    database: Database, eight: dict[str, Member]
) -> None:
    result = runner.invoke(app, ["jobs", "refresh-rfm", "--as-of", "2026-06-30"])
    assert result.exit_code == 0, result.output
    with database.session_scope() as s:
        assert {r.as_of.isoformat() for r in s.scalars(select(MemberRfm))} == {"2026-06-30"}
