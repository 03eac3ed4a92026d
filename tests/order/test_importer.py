"""The history import: orders and refunds of an old system, in bulk, idempotent, earning nothing."""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from memberkit.config import settings
from memberkit.db import Database
from memberkit.kit.time import utcnow
from memberkit.ledger import check as ledger_check
from memberkit.ledger.models import LedgerEntry as Entry
from memberkit.ledger.repository import member_balances
from memberkit.member import service as member_service
from memberkit.member.models import Member
from memberkit.order import importer, repository
from memberkit.order.models import Order, OrderLine, Refund
from memberkit.program.service import ProgramConfig
from tests.factories import make_member, make_store

HEADER = ",".join(importer.COLUMNS) + "\n"


def rows(text: str) -> list[dict[str, object]]:
    return list(csv.DictReader(io.StringIO(HEADER + text)))  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "default_locale", "en")


def orders_by_id(database: Database) -> dict[str, tuple[object, ...]]:
    with database.session_scope() as session:
        found = session.execute(
            select(
                Order.external_id,
                Order.member_id,
                Order.total_minor,
                Order.refunded_minor,
                Order.source,
                Order.points_earned,
                Order.growth_earned,
                Order.occurred_at,
            )
        ).all()
    return {row[0]: tuple(row[1:]) for row in found}


def messages(result: importer.ImportResult) -> list[tuple[int, str]]:
    return [(line, text.translate("en")) for line, text in result.errors]


def test_orders_find_their_members_by_card_number_customer_id_and_phone(
    database: Database, program: ProgramConfig
) -> None:
    # given three members, one with an old customer id, and a store
    with database.session_scope() as session:
        make_store(session, program, code="SH001")
        by_card = make_member(session, program, phone="13900000001")
        by_ref = make_member(session, program, phone="13900000002")
        by_phone = make_member(session, program, phone="13900000003")
        session.execute(
            Member.__table__.update()  # type: ignore[attr-defined]
            .where(Member.id == by_ref.id)
            .values(external_ref="C-77")
        )
        card = by_card.member_no
    # when orders naming each by one identifier are imported, with a non-member sale
    result = importer.import_rows(
        database,
        rows(
            f"order,H-1,,2019-05-01 10:00,{card},,,SH001,store,128.50,A1,coffee,2\n"
            ",H-2,,2019-05-02,,C-77,,,online,60,,,\n"
            ",H-3,,2019-05-03T09:00:00+08:00,,,139 0000 0003,SH001,,10.05,,,\n"
            ",H-4,,2019-05-04,,,,SH001,,5.00,,,\n"
        ),
    )
    # then all four are stored as history, each with its member, nothing earned
    assert messages(result) == []
    assert (result.orders, result.non_member_orders, result.already_present) == (4, 1, 0)
    stored = orders_by_id(database)
    assert {key: value[:6] for key, value in stored.items()} == {
        "H-1": (by_card.id, 12850, 0, "history", 0, 0),
        "H-2": (by_ref.id, 6000, 0, "history", 0, 0),
        "H-3": (by_phone.id, 1005, 0, "history", 0, 0),
        "H-4": (None, 500, 0, "history", 0, 0),
    }
    with database.session_scope() as session:
        lines = session.execute(
            select(OrderLine.sku, OrderLine.category, OrderLine.quantity, OrderLine.amount_minor)
        ).all()
    assert [tuple(line) for line in lines] == [("A1", "coffee", 2, 12850)]


def test_naive_times_are_in_the_programs_timezone(database: Database) -> None:
    # given the program's timezone Asia/Shanghai (the default), when a naive time is imported
    result = importer.import_rows(
        database,
        rows(",H-1,,2019-05-01 08:00,,,,,,1.00,,,\n,H-2,,2019-05-01T08:00:00Z,,,,,,1.00,,,\n"),
    )
    # then it is eight hours before UTC, while one with an offset is taken as given
    assert result.errors == []
    stored = orders_by_id(database)
    assert stored["H-1"][6] == datetime(2019, 5, 1, 0, 0, tzinfo=UTC)
    assert stored["H-2"][6] == datetime(2019, 5, 1, 8, 0, tzinfo=UTC)


def test_bad_rows_are_reported_by_line_and_the_rest_imported(database: Database) -> None:
    # given a file with one good row among bad ones
    future = (utcnow() + timedelta(days=2)).strftime("%Y-%m-%d")
    result = importer.import_rows(
        database,
        rows(
            ",H-1,,2019-05-01,,,,,,1.00,,,\n"
            ",H-2,,1989-12-31,,,,,,1.00,,,\n"
            f",H-3,,{future},,,,,,1.00,,,\n"
            ",H-4,,2019-05-01,,,,,,1.005,,,\n"
            ",H-5,,yesterday,,,,,,1.00,,,\n"
            ",H-6,,2019-05-01,800000000000,,,,,1.00,,,\n"
            ",H-7,,2019-05-01,,,,NOPE,,1.00,,,\n"
            ",H-8,,2019-05-01,,,12345,,,1.00,,,\n"
            ",H-9,,2019-05-01,,,,,fax,1.00,,,\n"
            "sale,H-10,,2019-05-01,,,,,,1.00,,,\n"
            ",,,2019-05-01,,,,,,1.00,,,\n"
            "refund,R-1,H-404,2019-05-02,,,,,,1.00,,,\n"
            ",H-11,,2019-05-01,,C-1,,,,1.00,,,\n"
        ),
    )
    # then each bad row is reported with its line and a message, and the good one is stored
    assert messages(result) == [
        (3, "occurred_at must be on or after 1990-01-01"),
        (4, "occurred_at is in the future"),
        (5, "amount '1.005' is not an amount in yuan such as 128.50"),
        (6, "occurred_at 'yesterday' is not a date and time"),
        (7, "no member has card number 800000000000"),
        (8, "store NOPE does not exist"),
        (9, "phone 12345 is not a mobile number"),
        (10, "channel must be one of store, online, mini_program"),
        (11, "type must be order or refund"),
        (12, "external_id is empty"),
        (13, "order H-404 is not imported"),
        (14, "no member has customer id C-1"),
    ]
    assert list(orders_by_id(database)) == ["H-1"]
    assert result.orders == 1


def test_a_second_import_of_the_same_file_imports_nothing_new(database: Database) -> None:
    # given a file of orders and a refund, imported once
    text = (
        ",H-1,,2019-05-01,,,13900000009,,,100.00,,,\n"
        ",H-2,,2019-05-01,,,,,,20.00,,,\n"
        "refund,R-1,H-1,2019-05-03,,,,,,30.00,,,\n"
        ",H-2,,2019-05-01,,,,,,20.00,,,\n"
    )
    first = importer.import_rows(database, rows(text), create_members=True)
    before = orders_by_id(database)
    # when it is imported again
    second = importer.import_rows(database, rows(text), create_members=True)
    # then the second import finds everything present and changes nothing
    assert (first.orders, first.refunds, first.already_present, first.members_created) == (
        2,
        1,
        1,
        1,
    )
    assert (second.orders, second.refunds, second.already_present, second.members_created) == (
        0,
        0,
        4,
        0,
    )
    assert second.errors == []
    assert orders_by_id(database) == before
    with database.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Member)) == 1
        assert session.scalar(select(func.count()).select_from(Refund)) == 1


def test_members_not_found_are_created_when_asked_with_their_customer_id(
    database: Database, program: ProgramConfig
) -> None:
    # when orders of unknown customers are imported with create_members
    result = importer.import_rows(
        database,
        rows(
            ",H-1,,2019-05-01,,C-9,13900000021,,,10.00,,,\n"
            ",H-2,,2019-06-01,,C-9,13900000021,,,20.00,,,\n"
            ",H-3,,2019-06-02,,,13900000022,,,30.00,,,\n"
            ",H-4,,2019-06-03,,C-10,,,,30.00,,,\n"
        ),
        create_members=True,
    )
    # then one member per phone is enrolled, with the customer id, joined at their first order
    assert messages(result) == [
        (5, "no member has customer id C-10, and without a phone none is created")
    ]
    assert (result.orders, result.members_created) == (3, 2)
    with database.session_scope() as session:
        member = member_service.find(session, program_id=program.id, phone="13900000021")
        view = member_service.view(session, member)
        assert (member.external_ref, member.created_at) == (
            "C-9",
            datetime(2019, 4, 30, 16, 0, tzinfo=UTC),
        )
        assert view.phone == "13900000021"
        assert member_balances(session, member_id=member.id) == {
            "points": 0,
            "growth": 0,
            "wallet_principal": 0,
            "wallet_bonus": 0,
        }
    stored = orders_by_id(database)
    assert stored["H-1"][0] == stored["H-2"][0] == member.id


def test_refunds_reduce_what_is_left_of_their_order_and_no_more(database: Database) -> None:
    # given an order of 100.00
    importer.import_rows(database, rows(",H-1,,2019-05-01,,,,,,100.00,,,\n"))
    # when refunds of it come, one too many and one dated before it
    result = importer.import_rows(
        database,
        rows(
            "refund,R-1,H-1,2019-05-02,,,,,,60.00,,,\n"
            "refund,R-2,H-1,2019-05-03,,,,,,40.01,,,\n"
            "refund,R-3,H-1,2019-04-30,,,,,,1.00,,,\n"
            "refund,R-4,H-1,2019-05-04,,,,,,40.00,,,\n"
        ),
    )
    # then what fits is refunded, the rest refused
    assert messages(result) == [
        (3, "the refund is more than is left of order H-1 (40.00)"),
        (4, "the refund is dated before its order"),
    ]
    assert result.refunds == 2
    assert orders_by_id(database)["H-1"][2] == 10000


def test_history_earns_nothing_and_leaves_the_ledger_clean(
    database: Database, program: ProgramConfig
) -> None:
    # given a member with a live order (which earned) and the ledger entries that made
    with database.session_scope() as session:
        member = make_member(session, program, phone="13900000031")
        card = member.member_no
    with database.session_scope() as session:
        entries = session.scalar(select(func.count()).select_from(Entry))
        balances = member_balances(session, member_id=member.id)
    # when their history is imported
    result = importer.import_rows(
        database,
        rows(
            f",H-1,,2020-01-01,{card},,,,,5000.00,,,\n"
            f",H-2,,2024-01-01,{card},,,,,300.00,,,\n"
            "refund,R-1,H-2,2024-01-02,,,,,,300.00,,,\n"
        ),
    )
    # then nothing was earned, no entry written, the ledger check is clean
    assert (result.orders, result.refunds) == (2, 1)
    with database.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Entry)) == entries
        assert member_balances(session, member_id=member.id) == balances
        assert ledger_check.check(session).ok
        refund = session.execute(
            select(Refund.points_reversed, Refund.growth_reversed, Refund.source)
        ).one()
    assert tuple(refund) == (0, 0, "history")


def test_a_bad_header_is_refused() -> None:
    # when a header misses a required column or names an unknown one, it is refused
    with pytest.raises(importer.ImportFileError) as missing:
        importer.check_header(["external_id", "amount"])
    with pytest.raises(importer.ImportFileError) as unknown:
        importer.check_header(["external_id", "occurred_at", "amount", "totl"])
    assert str(missing.value) == "the header has no occurred_at column"
    assert str(unknown.value).startswith("unknown columns: totl (known: type, external_id")


def _live_order(database: Database, program: ProgramConfig, external_id: str) -> int:
    """Insert an order the way the live path does (the database draws its id)."""
    with database.session_scope() as session:
        return repository.insert_order(
            session,
            order={
                "program_id": program.id,
                "external_id": external_id,
                "member_id": None,
                "store_id": None,
                "channel": "store",
                "occurred_at": utcnow(),
                "total_minor": 100,
                "eligible_minor": 0,
            },
            lines=[
                {
                    "line_no": 1,
                    "sku": "A1",
                    "quantity": 1,
                    "unit_price_minor": 100,
                    "amount_minor": 100,
                }
            ],
            payments=[],
        )


def test_imported_and_live_orders_never_share_an_id(
    database: Database, program: ProgramConfig
) -> None:
    # given a live order, then history imported (ids reserved by the importer), then another
    first = _live_order(database, program, "L-1")
    importer.import_rows(
        database, rows(",H-1,,2019-05-01,,,,,,1.00,,,\n,H-2,,2019-05-02,,,,,,2.00,,,\n")
    )
    second = _live_order(database, program, "L-2")
    importer.import_rows(database, rows(",H-3,,2019-05-03,,,,,,3.00,,,\n"))
    # then every order has its own id, and the live ones came before and after the history
    with database.session_scope() as session:
        ids = dict(session.execute(select(Order.external_id, Order.id)).all())
    assert len(set(ids.values())) == 5
    assert ids["L-1"] == first < ids["H-1"] < ids["H-2"] < ids["L-2"] == second < ids["H-3"]


def test_a_live_order_posted_while_a_batch_is_open_takes_another_id(
    database: Database, program: ProgramConfig
) -> None:
    # given a batch that reserved its ids and has not committed (PostgreSQL: no write lock)
    if database.engine.dialect.name != "postgresql":
        pytest.skip("on SQLite the batch holds the write lock: a live order waits for it")
    with database.session_scope() as session:
        reserved = list(repository.reserve_order_ids(session, count=3))
        # when a live order is posted and committed meanwhile
        live = _live_order(database, program, "L-1")
        # then it took an id of its own, and the batch's inserts with its ids still succeed
        assert live not in reserved
        repository.insert_orders(
            session,
            rows=[
                (order_id, program.id, f"H-{order_id}", None, None, "store", utcnow(), 1)
                + (0,) * 8
                + ("history", utcnow())
                for order_id in reserved
            ],
        )
    with database.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 4


def test_an_error_reading_a_later_batch_surfaces_after_the_earlier_batches_commit(
    database: Database,
) -> None:
    # given a source whose fourth row cannot be read, in batches of two
    def source() -> Iterator[dict[str, object]]:
        yield from rows(",H-1,,2019-05-01,,,,,,1.00,,,\n,H-2,,2019-05-01,,,,,,2.00,,,\n")
        yield from rows(",H-3,,2019-05-01,,,,,,3.00,,,\n")
        raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")

    done: list[int] = []
    # when it is imported, the error is raised to the caller
    with pytest.raises(UnicodeDecodeError):
        importer.import_rows(database, source(), batch=2, progress=done.append)
    # then the first batch stayed committed, the one being read did not go in, no thread is left
    assert sorted(orders_by_id(database)) == ["H-1", "H-2"]
    assert done == [2]
    assert not [t for t in threading.enumerate() if t.name == "import-reader"]


def test_row_errors_of_a_later_batch_have_their_lines_and_its_members_the_earlier_ones(
    database: Database,
) -> None:
    # given a file in batches of two: a member enrolled in the first, used again in the second
    result = importer.import_rows(
        database,
        rows(
            ",H-1,,2019-05-01,,C-9,13900000021,,,10.00,,,\n"
            ",H-2,,2019-05-01,,,,,,2.00,,,\n"
            ",H-3,,2019-05-02,,C-9,,,,3.00,,,\n"
            ",H-4,,yesterday,,,,,,1.00,,,\n"
            ",H-2,,2019-05-01,,,,,,9.00,,,\n"
            "refund,R-1,H-1,2019-05-03,,,,,,4.00,,,\n"
        ),
        create_members=True,
        batch=2,
    )
    # then the second and third batches' errors carry their file lines
    assert messages(result) == [
        (5, "occurred_at 'yesterday' is not a date and time"),
        (6, "H-2 was imported before with amount ¥2.00: left as it was"),
    ]
    assert (result.orders, result.refunds, result.members_created) == (3, 1, 1)
    stored = orders_by_id(database)
    assert stored["H-3"][0] == stored["H-1"][0] is not None
    assert stored["H-1"][2] == 400


def test_a_store_created_while_a_batch_is_read_ahead_is_known_to_that_batch(
    database: Database, program: ProgramConfig
) -> None:
    # given a store created once the first batch committed (the second is read by then)
    def created(done: int) -> None:
        if done == 1:
            with database.session_scope() as session:
                make_store(session, program, code="NEW01")

    # when the second batch names it
    result = importer.import_rows(
        database,
        rows(",H-1,,2019-05-01,,,,,,1.00,,,\n,H-2,,2019-05-01,,,,NEW01,,2.00,,,\n"),
        batch=1,
        progress=created,
    )
    # then that batch is read again with the stores of its transaction
    assert result.errors == []
    assert sorted(orders_by_id(database)) == ["H-1", "H-2"]


def test_an_interrupt_between_batches_stops_the_reading_thread(database: Database) -> None:
    # given an import interrupted after its first batch
    def interrupt(done: int) -> None:
        raise KeyboardInterrupt

    text = "".join(f",H-{n},,2019-05-01,,,,,,1.00,,,\n" for n in range(10))
    with pytest.raises(KeyboardInterrupt):
        importer.import_rows(database, rows(text), batch=2, progress=interrupt)
    # then only that batch went in, and the thread reading ahead is gone
    assert sorted(orders_by_id(database)) == ["H-0", "H-1"]
    assert not [t for t in threading.enumerate() if t.name == "import-reader"]
