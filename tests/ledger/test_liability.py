"""The liability report against the ledger: every figure recomputed from the entries, for
today and for a past day, by home store, whenever the expiry job ran."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import func, select

from memberkit.db import Database
from memberkit.kit.time import Timing, utcnow
from memberkit.ledger import expiry, liability
from memberkit.ledger.models import (
    Account,
    AccountCode,
    Asset,
    LedgerEntry,
    LedgerTransaction,
    PointsLot,
)
from memberkit.ledger.queries import LIABILITY_HORIZONS, StoreLiability
from memberkit.member.models import Member
from memberkit.order import service as order_service
from memberkit.program.service import ProgramConfig
from memberkit.store.models import Store
from memberkit.wallet import service as wallet_service
from tests.conftest import set_rules
from tests.factories import make_member, make_store, post_order


def _chain(database: Database, program: ProgramConfig) -> ProgramConfig:
    """Members of SH001, SH002 and none; lots due in 5 to 44 days, one already lapsed, a debt,
    and stored value at a store and online."""
    program = set_rules(database, points_validity={"type": "rolling_days", "days": 45})
    now = utcnow()

    def ago(days: int) -> datetime:
        return now - timedelta(days=days)

    with database.session_scope() as session:
        make_store(session, program, code="SH001")
        make_store(session, program, code="SH002")
        a = make_member(session, program, store_code="SH001", registered_at=ago(60))
        b = make_member(session, program, store_code="SH002", registered_at=ago(60))
        c = make_member(session, program, registered_at=ago(60))
        for member, days, amount in ((a, 40, 20_000), (a, 10, 5_000), (b, 20, 8_000)):
            post_order(
                session,
                program,
                member,
                amount_minor=amount,
                external_id=f"O-{member.id}-{days}",
                occurred_at=ago(days),
                timing=Timing.replay(ago(days)),
            )
        # a lot of B's that lapsed 5 days ago, the expiry job not yet run
        post_order(
            session,
            program,
            b,
            amount_minor=3_000,
            occurred_at=ago(50),
            timing=Timing.replay(ago(50)),
        )
        post_order(
            session,
            program,
            c,
            amount_minor=9_900,
            occurred_at=ago(1),
            timing=Timing.replay(ago(1)),
        )
        # A spends all but a few of their points, then the big order is refunded: a debt
        post_order(
            session,
            program,
            a,
            amount_minor=240,  # paid in points alone: it earns none
            points=240,
            occurred_at=ago(5),
            timing=Timing.replay(ago(5)),
        )
        order_service.post_refund(
            session,
            program=program,
            refund=order_service.RefundIn(
                external_id="RF-1", order_external_id=f"O-{a.id}-40", occurred_at=ago(2)
            ),
            timing=Timing.replay(ago(2)),
        )
        for member, store, amount in ((a, "SH001", 50_000), (c, None, 100_000)):
            wallet_service.recharge(
                session,
                program=program,
                member_no=member.member_no,
                external_id=f"RC-{member.id}",
                amount_minor=amount,
                method="cash",
                store_code=store,
                occurred_at=ago(3),
                timing=Timing.replay(ago(3)),
            )
    return program


def _from_entries(database: Database, at: datetime) -> dict[str | None, StoreLiability]:
    """The same figures summed in Python over every entry of every member account."""
    rows: dict[str | None, StoreLiability] = {}
    with database.session_scope(read_only=True) as session:
        homes = dict(
            session.execute(
                select(Member.id, Store.code).outerjoin(Store, Store.id == Member.store_id)
            ).all()
        )
        lots = dict(session.execute(select(PointsLot.id, PointsLot.expires_at)).all())
        entries = session.execute(
            select(Account.member_id, LedgerEntry.asset, LedgerEntry.amount, LedgerEntry.lot_id)
            .join(Account, Account.id == LedgerEntry.account_id)
            .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
            .where(Account.code == AccountCode.member, LedgerTransaction.occurred_at < at)
        ).all()
    debt: dict[str | None, int] = defaultdict(int)
    for member_id, asset, amount, lot_id in entries:
        row = rows.setdefault(homes[member_id], StoreLiability(homes[member_id]))
        if asset == Asset.wallet_principal:
            row.wallet_principal += amount
        elif asset == Asset.wallet_bonus:
            row.wallet_bonus += amount
        elif asset == Asset.points and lot_id is None:
            debt[row.store_code] -= amount
        elif asset == Asset.points:
            expires = lots[lot_id]
            if expires is None or expires.replace(tzinfo=at.tzinfo) > at:
                row.points += amount
                for days in LIABILITY_HORIZONS:
                    if expires is not None and expires.replace(tzinfo=at.tzinfo) <= at + timedelta(
                        days=days
                    ):
                        row.expiring[days] += amount
    for code, owed in debt.items():
        rows[code].points_debt = owed
    return rows


def test_the_liability_is_the_sum_of_the_entries_by_home_store(
    database: Database, program: ProgramConfig
) -> None:
    program = _chain(database, program)
    with database.session_scope(read_only=True) as session:
        now = liability.report(session, program=program)
        past = liability.report(session, program=program, on=now.on - timedelta(days=15))

    for report in (now, past):
        expected = _from_entries(database, report.at)
        assert {row.store_code: row for row in report.stores} == expected
        assert report.total.points == sum(row.points for row in expected.values())
        assert report.total.wallet_principal == sum(r.wallet_principal for r in expected.values())

    # then today, by store: the lapsed lot counts nowhere, A owes points, C's lot is live
    by_store = {row.store_code: row for row in now.stores}
    assert by_store["SH001"].points_debt > 0
    assert by_store["SH002"].expiring[30] == by_store["SH002"].points > 0
    assert (by_store[None].expiring[30], by_store[None].expiring[60]) == (0, by_store[None].points)
    assert (by_store["SH001"].wallet_principal, by_store["SH001"].wallet_bonus) == (50_000, 5_000)
    assert (by_store[None].wallet_principal, by_store[None].wallet_bonus) == (100_000, 15_000)
    assert (
        now.value_minor(now.total.points)
        == now.total.points * 100 // program.points_per_currency_unit
    )


def test_the_report_does_not_depend_on_when_the_expiry_job_ran(
    database: Database, program: ProgramConfig
) -> None:
    program = _chain(database, program)
    with database.session_scope(read_only=True) as session:
        before = liability.report(session, program=program)
    # when the job expires B's lapsed lot, today's figures stay what they were
    expiry.run(database, program=program, as_of=utcnow())
    with database.session_scope(read_only=True) as session:
        after = liability.report(session, program=program)
        balances = dict(
            session.execute(
                select(Account.asset, func.sum(Account.balance))
                .where(Account.code == AccountCode.member)
                .group_by(Account.asset)
            ).all()
        )
    assert after.stores == before.stores
    # and, the job run, the figures equal the members' cached balances
    assert after.total.points - after.total.points_debt == balances[Asset.points]
    assert after.total.wallet_principal == balances[Asset.wallet_principal]
    assert after.total.wallet_bonus == balances[Asset.wallet_bonus]


def test_a_store_bound_report_holds_only_its_stores_members(
    database: Database, program: ProgramConfig
) -> None:
    program = _chain(database, program)
    with database.session_scope(read_only=True) as session:
        mine = liability.report(session, program=program, stores=["SH001"])
    assert [row.store_code for row in mine.stores] == ["SH001"]
    assert mine.total.wallet_principal == 50_000
