"""Rule segments compiled to SQL: known answers per field and for AND/OR nesting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from memberkit.analytics.models import MemberRfm
from memberkit.coupon.models import Coupon, CouponTemplate
from memberkit.db import Database, table
from memberkit.forecast.models import ForecastFit, MemberForecast
from memberkit.kit.time import Timing
from memberkit.ledger.models import Account, AccountCode, Asset, LedgerTransaction, PointsLot
from memberkit.member import service as member_service
from memberkit.member.models import Member
from memberkit.program.service import ProgramConfig
from memberkit.segment.compiler import Context, member_ids, specs
from memberkit.segment.tree import parse
from tests.factories import make_member, make_store, post_order

NOW = datetime(2026, 6, 1, 4, 0, tzinfo=UTC)


def _account(session: Session, member: Member, asset: str, balance: int) -> None:
    accounts = table(Account)
    changed = session.execute(
        update(accounts)
        .where(
            accounts.c.member_id == member.id,
            accounts.c.asset == asset,
            accounts.c.code == AccountCode.member,
        )
        .values(balance=balance)
    ).rowcount
    if not changed:
        session.execute(
            insert(accounts).values(
                program_id=member.program_id,
                member_id=member.id,
                asset=asset,
                code=AccountCode.member,
                balance=balance,
            )
        )


def _lot(session: Session, member: Member, remaining: int, expires_in_days: int) -> None:
    tx = session.execute(
        insert(table(LedgerTransaction)).values(
            program_id=member.program_id,
            member_id=member.id,
            kind="adjust",
            idempotency_key=f"lot-{member.id}-{expires_in_days}",
            occurred_at=NOW,
        )
    ).inserted_primary_key[0]
    session.execute(
        insert(table(PointsLot)).values(
            program_id=member.program_id,
            member_id=member.id,
            transaction_id=tx,
            amount=remaining,
            remaining=remaining,
            earned_at=NOW - timedelta(days=300),
            expires_at=NOW + timedelta(days=expires_in_days),
        )
    )


def _coupon(session: Session, member: Member, template_id: int, *, status: str, until: int) -> None:
    session.execute(
        insert(table(Coupon)).values(
            program_id=member.program_id,
            template_id=template_id,
            member_id=member.id,
            code=f"C{member.id}{status}{until}",
            status=status,
            source="hand",
            batch_key=f"b{member.id}{status}{until}",
            valid_from=NOW - timedelta(days=10),
            valid_until=NOW + timedelta(days=until),
            issued_at=NOW - timedelta(days=10),
        )
    )


@pytest.fixture
def cast(database: Database, program: ProgramConfig) -> dict[str, Member]:
    """Four members, each set apart by what the fields read (see each line)."""
    with database.session_scope() as session:
        make_store(session, program, code="SH001")
        make_store(session, program, code="BJ001")
        ann = make_member(
            session,
            program,
            gender="female",
            store_code="SH001",
            tags=["vip", "coffee"],
            registered_at=datetime(2026, 1, 10, 2, tzinfo=UTC),
        )
        bob = make_member(
            session,
            program,
            gender="male",
            channel="online",
            tags=["vip"],
            registered_at=datetime(2026, 2, 1, 2, tzinfo=UTC),
        )
        cat = make_member(
            session,
            program,
            channel="mini_program",
            store_code="BJ001",
            # 1 February 00:30 in Shanghai is still 31 January in UTC: local days count.
            registered_at=datetime(2026, 1, 31, 16, 30, tzinfo=UTC),
        )
        dan = make_member(session, program, registered_at=datetime(2026, 3, 1, 2, tzinfo=UTC))
        member_service.change(session, member=dan, changes={"status": "frozen"})
    with database.session_scope() as session:
        # Ann: two coffee orders at SH001 in the last 30 days, 6,000 and 4,000 分.
        for days, amount in ((5, 6000), (20, 4000)):
            at = NOW - timedelta(days=days)
            post_order(
                session,
                program,
                ann,
                amount_minor=amount,
                occurred_at=at,
                store_code="SH001",
                timing=Timing(at),
            )
        # Bob: one tea order of 20,000 分, 100 days ago, at BJ001.
        at = NOW - timedelta(days=100)
        post_order(
            session,
            program,
            bob,
            amount_minor=20000,
            occurred_at=at,
            category="tea",
            store_code="BJ001",
            timing=Timing(at),
        )
        _account(session, ann, Asset.points, 0)
        _account(session, bob, Asset.points, 800)
        _account(session, cat, Asset.points, 300)
        _account(session, cat, Asset.wallet_principal, 5000)
        _account(session, cat, Asset.wallet_bonus, 500)
        _lot(session, cat, 200, 10)
        _lot(session, cat, 100, 50)
        _lot(session, bob, 700, 200)
        template = session.execute(
            insert(table(CouponTemplate)).values(
                program_id=program.id, code="T1", name="满100减10", kind="cash", scope={}
            )
        ).inserted_primary_key[0]
        _coupon(session, cat, template, status="available", until=5)
        _coupon(session, cat, template, status="available", until=-1)  # lapsed
        _coupon(session, bob, template, status="used", until=5)
        _coupon(session, dan, template, status="available", until=30)
        # The last RFM refresh scored Ann (重要价值, new, loyal) and Bob (一般挽留, churned).
        for member, rfm_class, state, active, m in (
            (ann, "important_value", "new", "loyal", 5),
            (bob, "general_win_back", "churned", None, 2),
        ):
            session.execute(
                insert(table(MemberRfm)).values(
                    member_id=member.id, program_id=program.id, as_of=NOW.date(), frequency=1,
                    monetary_minor=1, r_score=3, f_score=3, m_score=m, rfm_class=rfm_class,
                    active_class=active, lifecycle=state,
                )
            )  # fmt: skip
        # The latest fit forecasts Ann (churn risk 10 %) and Bob (70 %); Cat and Dan have none.
        fit = session.execute(
            insert(table(ForecastFit)).values(
                program_id=program.id, as_of=NOW.date(), status="ok", diagnostics={}
            )
        ).inserted_primary_key[0]
        for member, alive, purchases, value in (
            (ann, 900_000, 2500, 50000),
            (bob, 300_000, 200, 8000),
        ):
            session.execute(
                insert(table(MemberForecast)).values(
                    program_id=program.id,
                    member_id=member.id,
                    fit_id=fit,
                    p_alive_ppm=alive,
                    expected_purchases_90d_milli=purchases,
                    expected_value_12m_minor=value,
                )
            )
    return {"ann": ann, "bob": bob, "cat": cat, "dan": dan}


def who(
    database: Database,
    program: ProgramConfig,
    cast: dict[str, Member],
    rule: dict[str, Any],
    **options: Any,
) -> set[str]:
    names = {member.id: name for name, member in cast.items()}
    context = Context(program.id, program.tz, NOW)
    with database.session_scope(read_only=True) as session:
        found = session.scalars(member_ids(parse(rule, specs()), context, **options))
        return {names[i] for i in found}


def one(field: str, op: str, value: Any, days: int | None = None) -> dict[str, Any]:
    condition: dict[str, Any] = {"field": field, "op": op, "value": value}
    if days is not None:
        condition["days"] = days
    return {"all": [condition]}


CASES = [
    (one("gender", "eq", "female"), {"ann"}),
    (one("gender", "ne", "female"), {"bob", "cat", "dan"}),
    (one("gender", "in", ["female", "male"]), {"ann", "bob"}),
    (one("gender", "not_in", ["female", "male"]), {"cat", "dan"}),
    (one("channel", "eq", "online"), {"bob"}),
    (one("channel", "in", ["online", "mini_program"]), {"bob", "cat"}),
    (one("store", "eq", "SH001"), {"ann"}),
    (one("store", "in", ["SH001", "BJ001"]), {"ann", "cat"}),
    (one("store", "ne", "SH001"), {"bob", "cat", "dan"}),
    (one("registered", "eq", "2026-02-01"), {"bob", "cat"}),
    (one("registered", "lt", "2026-02-01"), {"ann"}),
    (one("registered", "lte", "2026-02-01"), {"ann", "bob", "cat"}),
    (one("registered", "gt", "2026-02-01"), {"dan"}),
    (one("registered", "between", ["2026-01-01", "2026-01-31"]), {"ann"}),
    (one("status", "eq", "frozen"), {"dan"}),
    (one("status", "ne", "frozen"), {"ann", "bob", "cat"}),
    (one("tier", "ne", "nonexistent"), {"ann", "bob", "cat", "dan"}),
    (one("tag", "any_of", ["coffee", "vip"]), {"ann", "bob"}),
    (one("tag", "all_of", ["coffee", "vip"]), {"ann"}),
    (one("tag", "none_of", ["coffee"]), {"bob", "cat", "dan"}),
    (one("spend", "gte", 10000, 30), {"ann"}),
    (one("spend", "gt", 10000, 30), set()),
    (one("spend", "gte", 10000, 365), {"ann", "bob"}),
    (one("spend", "lt", 5000, 30), {"bob", "cat", "dan"}),
    (one("spend", "eq", 0, 30), {"bob", "cat", "dan"}),
    (one("spend", "between", [6000, 9000], 10), {"ann"}),
    (one("orders", "eq", 2, 30), {"ann"}),
    (one("orders", "gte", 1, 365), {"ann", "bob"}),
    (one("orders", "lte", 1, 365), {"bob", "cat", "dan"}),
    (one("bought_category", "any_of", ["tea"], 365), {"bob"}),
    (one("bought_category", "any_of", ["tea"], 30), set()),
    (one("bought_category", "all_of", ["tea", "coffee"], 365), set()),
    (one("bought_category", "all_of", ["tea"], 365), {"bob"}),
    (one("bought_store", "all_of", ["SH001"], 365), {"ann"}),
    (one("bought_store", "all_of", ["SH001", "BJ001"], 365), set()),
    (one("bought_store", "all_of", ["BJ001", "NOWHERE"], 365), set()),
    (one("bought_channel", "all_of", ["store"], 30), {"ann"}),
    (one("tag", "all_of", ["vip"]), {"ann", "bob"}),
    (one("tag", "all_of", ["vip", "coffee", "absent"]), set()),
    (one("bought_category", "none_of", ["coffee"], 365), {"bob", "cat", "dan"}),
    (one("bought_store", "any_of", ["BJ001"], 365), {"bob"}),
    (one("bought_store", "any_of", ["SH001", "BJ001"], 365), {"ann", "bob"}),
    (one("bought_channel", "any_of", ["store"], 30), {"ann"}),
    (one("points", "gte", 300), {"bob", "cat"}),
    (one("points", "lt", 300), {"ann", "dan"}),
    (one("points_expiring", "gte", 200, 30), {"cat"}),
    (one("points_expiring", "eq", 300, 60), {"cat"}),
    (one("points_expiring", "eq", 0, 60), {"ann", "bob", "dan"}),
    (one("wallet", "eq", 5500), {"cat"}),
    (one("wallet", "eq", 0), {"ann", "bob", "dan"}),
    (one("coupons_unused", "eq", 1), {"cat", "dan"}),
    (one("coupons_unused", "eq", 0), {"ann", "bob"}),
    (one("rfm_class", "eq", "important_value"), {"ann"}),
    (one("rfm_class", "ne", "important_value"), {"bob", "cat", "dan"}),
    (one("rfm_class", "not_in", ["important_value", "general_win_back"]), {"cat", "dan"}),
    (one("lifecycle", "in", ["new", "churned"]), {"ann", "bob"}),
    (one("active_class", "eq", "loyal"), {"ann"}),
    (one("m_score", "gte", 4), {"ann"}),
    (one("m_score", "ne", 5), {"bob", "cat", "dan"}),
    (one("churn_risk", "gte", 50), {"bob"}),
    (one("churn_risk", "lt", 50), {"ann"}),
    (one("churn_risk", "between", [10, 10]), {"ann"}),
    (one("expected_purchases_90d", "gte", 1), {"ann"}),
    (one("expected_purchases_90d", "lt", 1), {"bob"}),
    (one("expected_value_12m", "gte", 10000), {"ann"}),
    (one("expected_value_12m", "lte", 8000), {"bob"}),
]


@pytest.mark.parametrize(("rule", "expected"), CASES, ids=[str(c[0]["all"][0]) for c in CASES])
def test_each_field_finds_exactly_its_members(
    database: Database,
    program: ProgramConfig,
    cast: dict[str, Member],
    rule: Any,
    expected: set[str],
) -> None:
    # Given the cast; when one condition is evaluated; then exactly its members are found
    assert who(database, program, cast, rule) == expected


def test_and_or_nest(database: Database, program: ProgramConfig, cast: dict[str, Member]) -> None:
    # Given vip members who either spent in the last 30 days or hold 500+ points, or frozen ones
    rule = {
        "any": [
            {
                "all": [
                    {"field": "tag", "op": "any_of", "value": ["vip"]},
                    {
                        "any": [
                            {"field": "spend", "op": "gt", "value": 0, "days": 30},
                            {"field": "points", "op": "gte", "value": 500},
                        ]
                    },
                ]
            },
            {"field": "status", "op": "eq", "value": "frozen"},
        ]
    }
    # Then Ann (vip, spent), Bob (vip, 800 points) and Dan (frozen) are in; Cat is not
    assert who(database, program, cast, rule) == {"ann", "bob", "dan"}
    # And an AND of the same two parts holds for no one
    assert who(database, program, cast, {"all": rule["any"]}) == set()


def test_restricted_to_some_members_or_stores(
    database: Database, program: ProgramConfig, cast: dict[str, Member]
) -> None:
    everyone = one("status", "ne", "closed")
    assert who(database, program, cast, everyone, only=[cast["ann"].id, cast["dan"].id]) == {
        "ann",
        "dan",
    }
    assert who(database, program, cast, everyone, store_codes=["BJ001"]) == {"cat"}
    assert who(database, program, cast, everyone, store_codes=[]) == set()


def test_many_all_of_values_compile_to_flat_sql(
    database: Database, program: ProgramConfig, cast: dict[str, Member]
) -> None:
    # Given ten "bought in all of" conditions of 100 categories each, and 50 of tags (the most
    # a rule may hold): once an AND of 1,000 and 5,000 subqueries, too deep for SQLite
    bought = [
        {
            "field": "bought_category",
            "op": "all_of",
            "value": ["tea", *(f"c{i}-{j}" for j in range(99))],
            "days": 365,
        }
        for i in range(10)
    ]
    tags = [
        {"field": "tag", "op": "all_of", "value": ["vip", *(f"t{i}-{j}" for j in range(99))]}
        for i in range(50)
    ]
    # When evaluated, then they hold for no one (nobody bought or holds them all), no error
    assert who(database, program, cast, {"all": bought}) == set()
    assert who(database, program, cast, {"any": tags}) == set()
    # And with the one category Bob bought, the same shape finds him
    tea = [{**condition, "value": ["tea"]} for condition in bought]
    assert who(database, program, cast, {"all": tea}) == {"bob"}
