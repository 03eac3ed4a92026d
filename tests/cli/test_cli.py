"""The memberkit command, run in-process against the test database."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, func, select
from typer.testing import CliRunner

from memberkit import migrate
from memberkit.cli.main import app
from memberkit.config import settings
from memberkit.db import Database
from memberkit.growth.rules import DEFAULT_GROWTH_RULES
from memberkit.kit.time import Timing, local_date, start_of_local_day, today, utcnow
from memberkit.ledger.models import PointsLot
from memberkit.member import service as member_service
from memberkit.member.models import Member
from memberkit.order import service as order_service
from memberkit.program import service as program_service
from memberkit.program.settings import CALENDAR
from memberkit.staff import service as staff_service
from memberkit.tier import service as tier_service
from memberkit.wallet.models import WalletRecharge
from tests.conftest import set_rules
from tests.rest import table_contents

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


def test_demo_loads_a_consistent_data_set_once(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    _english(monkeypatch)
    result = runner.invoke(app, ["demo", "--members", "40", "--orders", "400", "--seed", "7"])
    assert result.exit_code == 0, result.output
    # with an owner, and a manager and a cashier of the first store, whose logins are printed
    assert _said(result.output).endswith(
        "Demo staff accounts (published passwords: for a demo only): "
        "- owner / owner-demo-2026: owner "
        "- manager / manager-demo-2026: store manager, store SH001 "
        "- cashier / cashier-demo-2026: cashier, store SH001"
    )
    with database.session_scope(read_only=True) as session:
        program_id = program_service.get(session).id
    for username, password in (("owner", "owner-demo-2026"), ("cashier", "cashier-demo-2026")):
        signed = staff_service.authenticate(
            database, program_id=program_id, username=username, password=password, ip="127.0.0.1"
        )
        assert signed.principal.actor.username == username
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


def _english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "default_locale", "en")


def _said(output: str) -> str:
    """The command's output as one line (the console wraps long lines)."""
    return " ".join(output.split())


def _buy(database: Database, member_no: str, external_id: str, amount: int, at: datetime) -> None:
    with database.session_scope() as session:
        order_service.post_order(
            session,
            program=program_service.get(session),
            order=order_service.OrderIn(
                external_id=external_id,
                member=order_service.MemberRef(member_no=member_no),
                store_code=None,
                channel="store",
                occurred_at=at,
                lines=[order_service.LineIn("A1", "礼盒", "gift", 1, amount, amount)],
                payments=[order_service.PaymentIn("cash", amount)],
            ),
            timing=Timing.replay(at),  # history, posted as if at its own time
        )


JOBS = ("expire-points", "decay-growth", "review-tiers")


@pytest.mark.parametrize("job", JOBS)
def test_a_job_as_of_a_day_after_today_is_refused_and_changes_nothing(
    database: Database, monkeypatch: pytest.MonkeyPatch, job: str
) -> None:
    # given a member whose points, growth and tier a run for a later day would all touch
    set_rules(
        database,
        points_validity={"type": "rolling_days", "days": 1},
        growth_rules={**DEFAULT_GROWTH_RULES, "decay": {"after_days": 1, "share": "0.2"}},
    )
    with database.session_scope() as session:
        member = member_service.register(
            session, program_id=program_service.get(session).id, phone="13800138000"
        )
    _buy(database, member.member_no, "O-1", 90000, utcnow() - timedelta(hours=1))
    before = table_contents(database)
    tomorrow = (today() + timedelta(days=1)).isoformat()

    # when the job is run for tomorrow
    _english(monkeypatch)
    refused = runner.invoke(app, ["jobs", job, "--as-of", tomorrow])

    # then it is refused with exit code 2, says why, and changes nothing
    assert refused.exit_code == 2, refused.output
    assert _said(refused.output) == (
        f"--as-of {tomorrow} is after today ({today().isoformat()}): a job run for a future "
        "date would act ahead of time and cannot be undone (--dry-run shows what it would do)."
    )
    monkeypatch.setattr(settings, "default_locale", "zh_CN")
    in_chinese = runner.invoke(app, ["jobs", job, "--as-of", tomorrow])
    assert in_chinese.exit_code == 2
    assert "".join(in_chinese.output.split()) == (
        f"--as-of{tomorrow}晚于今天（{today().isoformat()}）：按未来日期运行任务会提前生效且无法撤销"
        "（--dry-run可查看其将做的事）。"
    )
    assert table_contents(database) == before
    # today is the latest day a job may act as of
    assert runner.invoke(app, ["jobs", job, "--as-of", today().isoformat()]).exit_code == 0


@pytest.mark.parametrize("job", JOBS)
@pytest.mark.parametrize("day", ["0001-01-01", "1989-12-31", "9999-12-31"])
def test_a_job_as_of_a_day_out_of_any_calendar_is_refused_clearly(
    database: Database, monkeypatch: pytest.MonkeyPatch, job: str, day: str
) -> None:
    # given a member with points, growth and a tier
    with database.session_scope() as session:
        member = member_service.register(
            session, program_id=program_service.get(session).id, phone="13800138000"
        )
    _buy(database, member.member_no, "O-1", 90000, utcnow() - timedelta(hours=1))
    before = table_contents(database)

    # when a job, even a dry run, is asked for a day far before any history or far ahead
    _english(monkeypatch)
    for dry_run in ([], ["--dry-run"]):
        refused = runner.invoke(app, ["jobs", job, "--as-of", day, *dry_run])

        # then it is refused with exit code 2 and the range, not a traceback, changing nothing
        assert refused.exit_code == 2, refused.output
        assert _said(refused.output) == (
            f"--as-of {day} is out of range: from 1990-01-01 to {today().year + 100}-12-31."
        )
    assert table_contents(database) == before


def test_every_job_has_a_dry_run_that_reports_the_real_run_and_changes_nothing(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a member who bought 900.00 three days ago (gold at once), whose points were valid
    # for one day, and whose growth decays after one idle day
    set_rules(
        database,
        points_validity={"type": "rolling_days", "days": 1},
        growth_rules={**DEFAULT_GROWTH_RULES, "decay": {"after_days": 1, "share": "0.2"}},
    )
    with database.session_scope() as session:
        member = member_service.register(
            session, program_id=program_service.get(session).id, phone="13800138000"
        )
    _buy(database, member.member_no, "O-1", 90000, utcnow() - timedelta(days=3))
    with database.session_scope() as session:
        review_at = session.scalars(
            select(Member.tier_review_at).where(Member.id == member.id)
        ).one()
    assert review_at is not None
    review_day = local_date(review_at)
    before = table_contents(database)
    _english(monkeypatch)

    # when every job is run with --dry-run (a dry run may look ahead of today)
    expire = runner.invoke(app, ["jobs", "expire-points", "--dry-run"])
    decay = runner.invoke(app, ["jobs", "decay-growth", "--dry-run"])
    notices = runner.invoke(
        app,
        ["jobs", "review-tiers", "--dry-run", "--as-of", str(review_day - timedelta(days=10))],
    )
    review = runner.invoke(
        app, ["jobs", "review-tiers", "--dry-run", "--as-of", review_day.isoformat()]
    )

    # then each says what it would do, and no table has changed
    assert [r.exit_code for r in (expire, decay, notices, review)] == [0, 0, 0, 0]
    assert _said(expire.output).endswith(
        "Dry run: 900 points would expire in 1 lots of 1 members. Nothing was changed (dry run)."
    )
    assert _said(decay.output).endswith(
        "Dry run: 180 growth would decay from 1 members. Nothing was changed (dry run)."
    )
    assert _said(notices.output).endswith(
        "Dry run: 0 members would be reviewed: 0 would keep their tier, 0 would move down. "
        "Dry run: 1 grace notices would be recorded for reviews in the next 30 days. "
        "Nothing was changed (dry run)."
    )
    assert _said(review.output).endswith(
        "Dry run: 1 members would be reviewed: 0 would keep their tier, 1 would move down. "
        "Dry run: 0 grace notices would be recorded for reviews in the next 30 days. "
        "Nothing was changed (dry run)."
    )
    assert table_contents(database) == before

    # and the real runs do what the dry runs said
    assert _said(runner.invoke(app, ["jobs", "expire-points"]).output).endswith(
        "900 points expired in 1 lots of 1 members."
    )
    assert _said(runner.invoke(app, ["jobs", "decay-growth"]).output).endswith(
        "180 growth decayed from 1 members."
    )
    with database.session_scope() as session:
        program = program_service.get(session)
    reviewed = tier_service.review(database, program=program, as_of=start_of_local_day(review_day))
    assert (reviewed.reviewed, reviewed.kept, reviewed.downgraded) == (1, 0, 1)


def test_import_members_prints_each_bad_row_and_a_summary(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a file with two good rows (genders written 男 and 女) and two bad
    csv_file = tmp_path / "members.csv"
    csv_file.write_text(
        "phone,name,gender,tags\n13800138000,张三,男,vip\n13900139000,李四,女,\n"
        "13700137000,王五,man,\n13600136000,[/b],[/x],\n",
        encoding="utf-8",
    )
    _english(monkeypatch)

    # when it is imported
    result = runner.invoke(app, ["import", "members", str(csv_file)])

    # then the bad row is named with its problem, and the summary counts them all
    assert result.exit_code == 1
    said = _said(result.output)
    assert "Importing members" in said
    assert said.endswith(
        "Row 4: gender 'man': String should match pattern '^(male|female|unknown)$' "
        "Row 5: gender '[/x]': String should match pattern '^(male|female|unknown)$' "
        "2 members imported, 0 already present, 2 rows with errors."
    )
    with database.session_scope() as session:
        names = {
            view.name: view.gender
            for view in map(
                lambda member: member_service.view(session, member), session.scalars(select(Member))
            )
        }
    assert names == {"张三": "male", "李四": "female"}


def test_import_members_refuses_a_file_with_an_unknown_column(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    csv_file = tmp_path / "members.csv"
    csv_file.write_text("phone,name,birthdy\n13800138000,张三,1990-05-01\n", encoding="utf-8")
    before = table_contents(database)
    _english(monkeypatch)

    result = runner.invoke(app, ["import", "members", str(csv_file)])

    assert result.exit_code == 2
    assert "".join(result.output.split()) == "".join(
        f"{csv_file} cannot be imported: unknown columns: birthdy (known: phone, name, "
        "gender, birthday, email, store_code, channel, tags)".split()
    )
    assert table_contents(database) == before


def _memberkit(
    database_url: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the installed ``memberkit`` command against another database, in another process."""
    env = {
        **os.environ,
        "MEMBERKIT_DATABASE_URL": database_url,
        "MEMBERKIT_SECRET_KEY": settings.secret_key,
        "MEMBERKIT_DATA_DIR": str(settings.data_dir),
        "COLUMNS": "500",  # long paths stay on one line
        **(env or {}),
    }
    return subprocess.run(
        [str(Path(sys.executable).with_name("memberkit")), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_fresh_database_says_to_upgrade_first_and_upgrade_says_what_it_did(
    database: Database, tmp_path: Path
) -> None:
    # given a database with no schema yet
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    # when a key is created on it, then it is refused plainly, without a traceback
    early = _memberkit(url, "apikey", "create", "--name", "POS", "--scope", "pos")
    assert (early.returncode, early.stdout.strip(), early.stderr) == (
        2,
        "数据库尚未建立或不是最新版本：请先运行 `memberkit db upgrade`。",
        "",
    )
    # when it is upgraded twice, then the first run says it created it, the second that it was
    # already up to date
    head = migrate.head()
    created = _memberkit(url, "db", "upgrade")
    again = _memberkit(url, "db", "upgrade")
    assert created.returncode == again.returncode == 0, created.stderr + again.stderr
    assert created.stdout.strip() == f"数据库已创建，版本 {head}：{url}"
    assert again.stdout.strip() == f"数据库已是最新版本（版本 {head}）：{url}"
    # and a key can be created now
    made = _memberkit(url, "apikey", "create", "--name", "POS", "--scope", "pos")
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip().splitlines()[-1].startswith("mk_")


def test_a_command_meeting_a_database_busy_past_the_lock_timeout_says_so_plainly(
    database: Database, tmp_path: Path
) -> None:
    # given an embedded database whose write lock another process holds (a demo loading)
    path = tmp_path / "busy.db"
    url = f"sqlite:///{path}"
    assert _memberkit(url, "db", "upgrade").returncode == 0
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        # when a key is created meanwhile, waiting half a second at most for the lock
        busy = _memberkit(
            url,
            "apikey",
            "create",
            "--name",
            "POS",
            "--scope",
            "pos",
            env={"MEMBERKIT_LOCK_TIMEOUT": "0.5", "MEMBERKIT_DEFAULT_LOCALE": "en"},
        )
    finally:
        holder.execute("ROLLBACK")
        holder.close()

    # then it says the database is busy and nothing was changed, without a traceback
    said = busy.stdout + busy.stderr
    assert busy.returncode == 1, said
    assert said.split() == (
        "The database is busy; nothing was changed. Please retry in a moment.".split()
    )
    listed = _memberkit(url, "apikey", "list", env={"MEMBERKIT_DEFAULT_LOCALE": "en"})
    assert "POS" not in listed.stdout


def test_upgrade_from_an_older_revision_says_from_which_to_which(
    database: Database, tmp_path: Path
) -> None:
    # given a database at the first revision
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    migrate.upgrade(engine, "0001")
    old = migrate.current(engine)
    engine.dispose()
    # when it is upgraded, then it says from which revision to which
    upgraded = _memberkit(url, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout.strip() == f"数据库已从版本 {old} 升级到 {migrate.head()}：{url}"


def _set_calendar(database: Database, zone: str) -> None:
    with database.session_scope() as session:
        program = program_service.get(session)
        program_service.change(session, program=program, section=CALENDAR, value={"timezone": zone})


def test_as_of_may_name_today_in_the_programs_own_calendar(database: Database) -> None:
    # given a program whose calendar is Pago Pago's (UTC-11): Kiritimati (UTC+14) is a day ahead
    kiritimati_today = utcnow().astimezone(ZoneInfo("Pacific/Kiritimati")).date().isoformat()
    _set_calendar(database, "Pacific/Pago_Pago")

    # when a job is run for Kiritimati's today, then again once the calendar is Kiritimati's
    refused = runner.invoke(app, ["jobs", "expire-points", "--as-of", kiritimati_today])
    _set_calendar(database, "Pacific/Kiritimati")
    accepted = runner.invoke(app, ["jobs", "expire-points", "--as-of", kiritimati_today])

    # then the first is a day after the program's today, the second is its today
    assert refused.exit_code == 2, refused.output
    assert accepted.exit_code == 0, accepted.output


def test_serve_believes_no_forwarded_address_unless_told_whose(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from memberkit.cli.serve import _proxies

    assert _proxies() == {"proxy_headers": False}
    monkeypatch.setattr(settings, "trusted_proxies", "10.0.0.5")
    assert _proxies() == {"proxy_headers": True, "forwarded_allow_ips": "10.0.0.5"}
