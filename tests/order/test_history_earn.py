"""Earning history: imported orders earn what the rules give on their own dates (issue 11)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from memberkit.config import settings
from memberkit.db import Database
from memberkit.kit.time import utcnow
from memberkit.ledger import check as ledger_check
from memberkit.ledger.models import Account, AccountCode, LedgerEntry, LedgerTransaction, PointsLot
from memberkit.ledger.repository import member_balances
from memberkit.member.models import Member
from memberkit.order import importer
from memberkit.order.models import Order, OrderLine, Refund
from memberkit.program import service as program_service
from memberkit.program.service import ProgramConfig
from tests.conftest import set_rules
from tests.factories import make_member
from tests.order.test_history_rules import _ladder
from tests.rest import Api, table_contents

HEADER = ",".join(importer.COLUMNS) + "\n"


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(settings, "default_locale", "en")


def rows(text: str) -> list[dict[str, object]]:
    return list(csv.DictReader(io.StringIO(HEADER + text)))


def history(database: Database, **section: object) -> ProgramConfig:
    with database.session_scope() as session:
        program = program_service.get(session)
        return program_service.store(session, program=program, values={"history": section})


def day(**ago: float) -> str:
    return (utcnow() - timedelta(**ago)).strftime("%Y-%m-%d %H:%M")


def a_member(database: Database, program: ProgramConfig) -> tuple[int, str]:
    with database.session_scope() as session:
        member = make_member(session, program)
        return member.id, member.member_no


def lots(database: Database, member_id: int) -> list[tuple[int, int, datetime | None]]:
    with database.session_scope() as session:
        found = session.execute(
            select(PointsLot.amount, PointsLot.remaining, PointsLot.expires_at)
            .where(PointsLot.member_id == member_id)
            .order_by(PointsLot.id)
        ).all()
    return [tuple(row) for row in found]  # type: ignore[misc]


def expired_points(database: Database) -> int:
    with database.session_scope() as session:
        total = session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount), 0))
            .join(Account, Account.id == LedgerEntry.account_id)
            .where(Account.code == AccountCode.expired, Account.asset == "points")
        )
    return int(total or 0)


def balances(database: Database, member_id: int) -> dict[str, int]:
    """The member's points and growth (an asset they hold no account of: 0)."""
    with database.session_scope() as session:
        held = member_balances(session, member_id=member_id)
    return {asset: held.get(asset, 0) for asset in ("points", "growth")}


def earned(database: Database) -> dict[str, tuple[int, int, int, int]]:
    with database.session_scope() as session:
        found = session.execute(
            select(
                Order.external_id,
                Order.points_earned,
                Order.growth_earned,
                Order.points_reversed,
                Order.growth_reversed,
            )
        ).all()
    return {row[0]: tuple(row[1:]) for row in found}  # type: ignore[misc]


def transactions(database: Database) -> int:
    with database.session_scope() as session:
        return int(session.scalar(select(func.count()).select_from(LedgerTransaction)) or 0)


def ledger_ok(database: Database) -> None:
    with database.session_scope() as session:
        report = ledger_check.check(session)
    assert report.ok, report.problems


def test_an_order_three_years_old_earns_a_lot_born_expired(
    database: Database, program: ProgramConfig
) -> None:
    # given points valid 365 days, history earning all, and a member
    set_rules(database, points_validity={"type": "rolling_days", "days": 365})
    program = history(database, earn="all")
    member_id, no = a_member(database, program)
    old = utcnow() - timedelta(days=3 * 365)
    # when an order of 100.00 three years ago is imported
    result = importer.import_rows(
        database, rows(f",H-1,,{old:%Y-%m-%d %H:%M},{no},,,,,100.00,,,\n")
    )
    # then it earned 100 points and 100 growth, the points in a lot expired at once
    assert (result.errors, result.points_earned, result.growth_earned) == ([], 100, 100)
    assert earned(database)["H-1"] == (100, 100, 0, 0)
    with database.session_scope() as session:
        at = session.scalar(select(Order.occurred_at).where(Order.external_id == "H-1"))
    assert at is not None
    expires = program.validity.expires_at(at, program.tz)
    assert expires is not None and expires < utcnow()
    assert lots(database, member_id) == [(100, 0, expires)]
    assert balances(database, member_id) == {"points": 0, "growth": 100}
    assert expired_points(database) == 100
    ledger_ok(database)


def test_a_recent_order_earns_a_spendable_lot_expiring_from_its_date(
    database: Database, program: ProgramConfig
) -> None:
    # given points valid 365 days and history earning all
    set_rules(database, points_validity={"type": "rolling_days", "days": 365})
    program = history(database, earn="all")
    member_id, no = a_member(database, program)
    at = (utcnow() - timedelta(days=30)).replace(second=0, microsecond=0)
    # when an order of 50.00 thirty days ago is imported
    importer.import_rows(database, rows(f",H-1,,{at:%Y-%m-%d %H:%M},{no},,,,,50.00,,,\n"))
    # then its 50 points are spendable until 365 days after its date, not after today
    with database.session_scope() as session:
        local = session.scalar(select(Order.occurred_at).where(Order.external_id == "H-1"))
    expires = program.validity.expires_at(local, program.tz)  # type: ignore[arg-type]
    assert lots(database, member_id) == [(50, 50, expires)]
    assert balances(database, member_id) == {"points": 50, "growth": 50}
    assert expired_points(database) == 0
    ledger_ok(database)


def test_growth_only_earns_growth(database: Database, program: ProgramConfig) -> None:
    # given history earning growth only
    program = history(database, earn="growth")
    member_id, no = a_member(database, program)
    # when two orders are imported
    result = importer.import_rows(
        database,
        rows(f",H-1,,{day(days=400)},{no},,,,,80.00,,,\n,H-2,,{day(days=3)},{no},,,,,20.50,,,\n"),
    )
    # then they earn growth by the rules (floor of 1 per yuan) and no points at all
    assert (result.points_earned, result.growth_earned) == (0, 100)
    assert earned(database) == {"H-1": (0, 80, 0, 0), "H-2": (0, 20, 0, 0)}
    assert lots(database, member_id) == []
    assert balances(database, member_id) == {"points": 0, "growth": 100}
    ledger_ok(database)


def test_a_second_import_of_the_same_file_earns_nothing(
    database: Database, program: ProgramConfig
) -> None:
    # given history earning all, and a file imported once
    program = history(database, earn="all")
    member_id, no = a_member(database, program)
    text = f",H-1,,{day(days=10)},{no},,,,,100.00,,,\nrefund,R-1,H-1,{day(days=9)},,,,,,30.00,,,\n"
    importer.import_rows(database, rows(text))
    before = (balances(database, member_id), transactions(database), earned(database))
    # when the same file is imported again
    again = importer.import_rows(database, rows(text))
    # then everything is already present and nothing more is earned or taken back
    assert (again.orders, again.refunds, again.already_present) == (0, 0, 2)
    assert (again.points_earned, again.points_reversed) == (0, 0)
    assert (balances(database, member_id), transactions(database), earned(database)) == before
    assert before[0] == {"points": 70, "growth": 70}


def test_a_history_refund_claws_back_what_its_order_earned(
    database: Database, program: ProgramConfig
) -> None:
    # given history earning all, a member, and an old order whose points have expired
    set_rules(database, points_validity={"type": "rolling_days", "days": 365})
    program = history(database, earn="all")
    member_id, no = a_member(database, program)
    # when a recent order and a refund of 40% of it, and a refund of half the old one, come in
    result = importer.import_rows(
        database,
        rows(
            f",H-1,,{day(days=20)},{no},,,,,100.00,,,\n"
            f"refund,R-1,H-1,{day(days=19)},,,,,,40.00,,,\n"
            f",H-OLD,,{day(days=800)},{no},,,,,60.00,,,\n"
            f"refund,R-2,H-OLD,{day(days=799)},,,,,,30.00,,,\n"
            f"refund,R-3,H-1,{day(days=18)},,,,,,10.00,,,\n"
        ),
    )
    # then the refunds take back their shares: from the recent order's lot, points and growth;
    # of the old order only growth, its points having expired already (not taken twice)
    assert result.errors == []
    assert earned(database) == {"H-1": (100, 100, 50, 50), "H-OLD": (60, 60, 30, 30)}
    with database.session_scope() as session:
        refunds = session.execute(
            select(
                Refund.external_id,
                Refund.points_reversed,
                Refund.growth_reversed,
                Refund.points_already_expired,
            ).order_by(Refund.external_id)
        ).all()
    assert [tuple(r) for r in refunds] == [
        ("R-1", 40, 40, 0),
        ("R-2", 30, 30, 30),
        ("R-3", 10, 10, 0),
    ]
    assert (result.points_reversed, result.growth_reversed) == (50, 80)
    assert balances(database, member_id) == {"points": 50, "growth": 80}
    ledger_ok(database)


def test_a_refund_imported_after_switching_back_to_none_still_claws_back(
    database: Database, program: ProgramConfig
) -> None:
    # given an order imported while history earned all
    program = history(database, earn="all")
    member_id, no = a_member(database, program)
    first = importer.import_rows(database, rows(f",H-1,,{day(days=20)},{no},,,,,100.00,,,\n"))
    assert (first.points_earned, balances(database, member_id)) == (
        100,
        {"points": 100, "growth": 100},
    )
    # when the merchant switches back to earn none, then imports the refund of half of it
    history(database, earn="none")
    later = importer.import_rows(
        database,
        rows(
            f"refund,R-1,H-1,{day(days=19)},,,,,,50.00,,,\n"
            f",H-2,,{day(days=10)},{no},,,,,80.00,,,\n"
            f"refund,R-2,H-2,{day(days=9)},,,,,,80.00,,,\n"
        ),
    )
    # then the refund takes back its share of what the order earned; the new order earns
    # nothing, and its refund has nothing to take back
    assert later.errors == []
    assert (later.points_earned, later.points_reversed, later.growth_reversed) == (0, 50, 50)
    assert balances(database, member_id) == {"points": 50, "growth": 50}
    assert earned(database)["H-1"] == (100, 100, 50, 50)
    assert earned(database)["H-2"] == (0, 0, 0, 0)
    ledger_ok(database)


def test_non_member_orders_and_earn_none_earn_nothing(
    database: Database, program: ProgramConfig
) -> None:
    # given the default (earn none), a member's order and a sale to no member
    member_id, no = a_member(database, program)
    text = f",H-1,,{day(days=5)},{no},,,,,100.00,,,\n,H-2,,{day(days=5)},,,,,,100.00,,,\n"
    importer.import_rows(database, rows(text))
    assert transactions(database) == 0
    assert earned(database) == {"H-1": (0, 0, 0, 0), "H-2": (0, 0, 0, 0)}
    # when history earns all and a sale to no member comes in
    history(database, earn="all")
    result = importer.import_rows(database, rows(f",H-3,,{day(days=5)},,,,,,100.00,,,\n"))
    # then it earns nothing and posts nothing
    assert (result.orders, result.non_member_orders, result.points_earned) == (1, 1, 0)
    assert transactions(database) == 0
    assert balances(database, member_id) == {"points": 0, "growth": 0}


def test_a_frozen_members_history_earns_nothing(database: Database, program: ProgramConfig) -> None:
    # given history earning all and a frozen member
    program = history(database, earn="all")
    member_id, no = a_member(database, program)
    with database.session_scope() as session:
        session.execute(
            Member.__table__.update().where(Member.id == member_id).values(status="frozen")  # type: ignore[attr-defined]
        )
    # when their order is imported, then it is stored and earns nothing
    result = importer.import_rows(database, rows(f",H-1,,{day(days=5)},{no},,,,,100.00,,,\n"))
    assert (result.orders, result.points_earned) == (1, 0)
    assert transactions(database) == 0


def _import(admin: Api, no: str, amount: str, external_id: str = "H-1") -> dict[str, Any]:
    body = {
        "rows": [
            {
                "external_id": external_id,
                "occurred_at": (utcnow() - timedelta(days=2)).replace(microsecond=0).isoformat(),
                "member_no": no,
                "amount": amount,
            }
        ]
    }
    response = admin.post("/api/v1/orders/import", body)
    assert response.status_code == 200, response.text
    return response.json()


def test_history_counts_for_tiers_when_the_merchant_says_so(
    admin: Api, member: dict[str, Any]
) -> None:
    # given a VIP at 100.00 spent within 30 days, and history counting for tiers
    _ladder(admin, {"spend_at_least": "100.00", "within_days": 30})
    put = admin.client.put(
        "/api/v1/settings/history",
        json={"earn": "none", "counts_for_tiers": True},
        headers=admin.headers,
    )
    assert (put.status_code, put.json()) == (200, {"earn": "none", "counts_for_tiers": True})
    no = member["member_no"]
    # when 150.00 of history two days ago is imported
    answer = _import(admin, no, "150.00")
    # then the member is VIP, earned nothing, and the tier history says the order did it
    assert (answer["points_earned"], answer["growth_earned"]) == (0, 0)
    tier = admin.get(f"/api/v1/members/{no}/tier").json()
    assert tier["tier"]["code"] == "vip"
    assert [(h["from_tier"], h["to_tier"], h["reason"]) for h in tier["history"]][:1] == [
        ("member", "vip", "upgrade")
    ]


def test_a_frozen_members_history_moves_no_tier(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    # given a VIP at 100.00 within 30 days, history counting for tiers, and a frozen member
    _ladder(admin, {"spend_at_least": "100.00", "within_days": 30})
    patched = admin.client.patch(
        "/api/v1/settings/history",
        json={"earn": "all", "counts_for_tiers": True},
        headers=admin.headers,
    )
    assert patched.status_code == 200, patched.text
    no = member["member_no"]
    with database.session_scope() as session:
        session.execute(
            Member.__table__.update().where(Member.member_no == no).values(status="frozen")  # type: ignore[attr-defined]
        )
    # when 150.00 of their history is imported, then it is stored, earns nothing, moves nothing
    answer = _import(admin, no, "150.00")
    assert (answer["orders"], answer["points_earned"]) == (1, 0)
    tier = admin.get(f"/api/v1/members/{no}/tier").json()
    assert tier["tier"]["code"] == "member"


def test_a_category_without_a_sku_is_the_orders_line_and_earns_by_it(
    database: Database, program: ProgramConfig
) -> None:
    # given history earning all, gift cards earning nothing
    set_rules(database, earning_rules={"excluded_categories": ["gift_card"]})
    program = history(database, earn="all")
    _member_id, no = a_member(database, program)
    # when an order of a gift card, its category given without a sku, is imported
    result = importer.import_rows(
        database, rows(f",H-1,,{day(days=5)},{no},,,,,100.00,,gift_card,\n")
    )
    # then it has a line of that category, and earns nothing
    assert (result.orders, result.points_earned) == (1, 0)
    with database.session_scope() as session:
        line = session.execute(select(OrderLine.sku, OrderLine.category)).one()
    assert tuple(line) == ("", "gift_card")


def test_history_not_counting_for_tiers_leaves_the_tier(admin: Api, member: dict[str, Any]) -> None:
    # given a VIP at 100.00 spent within 30 days and history earning all, not counting
    _ladder(admin, {"spend_at_least": "100.00", "within_days": 30})
    put = admin.client.put(
        "/api/v1/settings/history",
        json={"earn": "all", "counts_for_tiers": False},
        headers=admin.headers,
    )
    assert (put.status_code, put.json()) == (200, {"earn": "all", "counts_for_tiers": False}), (
        put.text
    )
    no = member["member_no"]
    # when 150.00 of history is imported, then it earns but the tier stays
    answer = _import(admin, no, "150.00")
    assert (answer["points_earned"], answer["growth_earned"]) == (150, 150)
    assert admin.get(f"/api/v1/members/{no}/tier").json()["tier"]["code"] == "member"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"earn": "points", "counts_for_tiers": False}, "earn must be one of none, growth, all"),
        ({"earn": "all", "counts_for_tiers": "yes"}, "counts_for_tiers must be true or false"),
        ({"earn": "all", "counts_for_tiers": False, "x": 1}, "unknown history settings: x"),
    ],
)
@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_bad_history_settings_are_refused_in_both_languages(
    admin: Api, database: Database, body: dict[str, Any], message: str, language: str
) -> None:
    before = table_contents(database)
    refused = admin.client.put(
        "/api/v1/settings/history",
        json=body,
        headers={**admin.headers, "Accept-Language": language},
    )
    assert (refused.status_code, refused.json()["code"]) == (422, "invalid_program_settings")
    detail = refused.json()["detail"]
    if language == "en":
        assert message in detail
    else:
        assert message not in detail and any("\u4e00" <= ch <= "\u9fff" for ch in detail)
    assert table_contents(database) == before
