"""Coupon jobs: the daily birthday gifts from the CLI and the scheduler's registry, and bulk
issues run in a background thread, resumed after being cut short."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from typer.testing import CliRunner

from memberkit.cli.main import app
from memberkit.coupon import service, tasks
from memberkit.coupon.models import Coupon, CouponBatch
from memberkit.coupon.rules import CouponKind
from memberkit.db import Database
from memberkit.kit.time import today, utcnow
from memberkit.program.service import ProgramConfig
from memberkit.tasks import TASKS
from tests.factories import make_member

runner = CliRunner()


def gift(database: Database, program: ProgramConfig, **flags: object) -> None:
    given = service.TemplateIn(
        kind=CouponKind.cash, name="生日券", off_minor=2000, valid_days=30, **flags
    )
    with database.session_scope() as session:
        service.define(session, program=program, code="bday", given=given)


def test_the_birthday_job_is_registered_and_gives_once_from_the_cli(
    database: Database, program: ProgramConfig
) -> None:
    assert "birthday-coupons" in [task.name for task in TASKS]
    gift(database, program, on_birthday=True)
    day = today(program.tz)
    with database.session_scope() as session:
        born = date(1996, day.month, day.day)  # a leap year: every day of the year is in it
        make_member(session, program, birthday=born)
        make_member(session, program, birthday=born + timedelta(days=1))

    dry = runner.invoke(app, ["jobs", "birthday-coupons", "--dry-run", "--as-of", day.isoformat()])
    assert dry.exit_code == 0, dry.output
    with database.session_scope(read_only=True) as session:
        assert session.scalars(select(Coupon.id)).all() == []
    first = runner.invoke(app, ["jobs", "birthday-coupons", "--as-of", day.isoformat()])
    again = runner.invoke(app, ["jobs", "birthday-coupons", "--as-of", day.isoformat()])

    assert first.exit_code == again.exit_code == 0, first.output
    with database.session_scope(read_only=True) as session:
        keys = session.scalars(select(Coupon.batch_key)).all()
    assert keys == [f"birthday:{day.year}"]


def test_the_birthday_job_does_nothing_without_a_birthday_template(
    database: Database, program: ProgramConfig
) -> None:
    gift(database, program)
    with database.session_scope() as session:
        make_member(session, program, birthday=today(program.tz))
    result = service.give_birthday_gifts(database, program=program, as_of=utcnow())
    assert result == service.BirthdayResult(0, 0, 0)


def test_a_batch_started_in_the_background_is_done_once(
    database: Database, program: ProgramConfig
) -> None:
    gift(database, program)
    with database.session_scope() as session:
        make_member(session, program)
        batch, _created = service.start_batch(
            session, program=program, template_code="bday", external_id="A", actor="test"
        )
        batch_id = batch.id
    tasks.run_in_background(database, program=program, batch_id=batch_id).join(timeout=60)
    with database.session_scope(read_only=True) as session:
        done = session.get(CouponBatch, batch_id)
        assert done is not None and (done.state, done.issued) == ("done", 1)


def test_a_batch_cut_short_is_resumed_at_the_next_start(
    database: Database, program: ProgramConfig
) -> None:
    gift(database, program)
    with database.session_scope() as session:
        ids = [make_member(session, program).id for _n in range(service.CHUNK + 5)]
        batch, _created = service.start_batch(
            session,
            program=program,
            template_code="bday",
            external_id="B",
            actor="test",
            wanted=None,
        )
        batch_id = batch.id
    assert batch.total == len(ids)

    # when a run handles the first chunk and stops (the server went down)
    with database.session_scope() as session:
        stored = session.get(CouponBatch, batch_id)
        assert stored is not None
        first_chunk = stored.member_ids[: service.CHUNK]
    for member_id in first_chunk[:10]:  # some coupons issued before the cut, progress not saved
        with database.session_scope() as session:
            template = service.found(session, program=program, code="bday")
            service.issue(
                session,
                program=program,
                template=template,
                member_id=member_id,
                batch_key=f"batch:{batch_id}",
                source=service.CouponSource.bulk,
                actor="test",
            )

    # then the next start resumes it and finishes it, giving nobody a second coupon
    assert tasks.resume(database) == [batch_id]
    assert tasks.resume(database) == []
    with database.session_scope(read_only=True) as session:
        done = session.get(CouponBatch, batch_id)
        assert done is not None
        assert (done.state, done.done, done.issued, done.skipped) == (
            "done",
            service.CHUNK + 5,
            service.CHUNK - 5,
            10,
        )
        assert len(session.scalars(select(Coupon.id)).all()) == service.CHUNK + 5
