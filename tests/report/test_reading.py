"""Reports read on the analytics connection: never blocked by an open write, never writing."""

from __future__ import annotations

import time
from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from memberkit.db import Database
from memberkit.program.service import ProgramConfig
from memberkit.report import reading
from memberkit.report.rules import Filters, Grain
from tests.factories import make_member
from tests.report.history import at, build

PERIOD = Filters(date(2026, 10, 1), date(2026, 11, 30), Grain.month)


def test_a_report_reads_while_a_write_transaction_is_open(
    database: Database, program: ProgramConfig
) -> None:
    build(database, program)
    # given a unit of work that holds the write lock (on SQLite: BEGIN IMMEDIATE) with a new
    # member in it, not committed
    with database.session_scope() as writing:
        make_member(writing, program, registered_at=at("2026-11-20"))
        writing.flush()
        # when a report is read meanwhile
        started = time.monotonic()
        outcome = reading.run(
            database, name="members", program=program, asked=PERIOD, viewer=None, locale="en"
        )
        waited = time.monotonic() - started
    # then it did not wait for the writer, and saw the last commit only
    assert waited < 2
    assert (outcome.report.total, outcome.report.new) == (3, 2)
    with database.session_scope(read_only=True) as session:
        after = reading.REPORTS["members"][0](session, program=program, filters=PERIOD, viewer=None)
    assert after.new == 3


def test_the_analytics_connection_cannot_write(database: Database) -> None:
    engine = database.analytics_engine
    if database.engine.dialect.name == "sqlite":
        assert engine is not database.read_engine  # a connection of its own, read-only
    with pytest.raises(DBAPIError), database.analytics_scope() as session:
        session.execute(text("DELETE FROM stores"))
