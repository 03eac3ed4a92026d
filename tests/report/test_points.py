"""The points and stored value report against the ledger: flows are sums of entries, what is
owed is the liability report's, on a hand-built history with expiry and a redemption."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from memberkit.db import Database
from memberkit.kit.time import Timing
from memberkit.ledger import expiry, liability
from memberkit.ledger.models import Account, AccountCode, Asset, LedgerEntry, LedgerTransaction
from memberkit.member import service as member_service
from memberkit.member.models import Member
from memberkit.order.models import Order
from memberkit.program.service import ProgramConfig
from memberkit.report import service
from memberkit.report.rules import Filters, Grain
from memberkit.store.models import Store
from tests.conftest import set_rules
from tests.factories import post_order
from tests.report.history import at, build

WHOLE = Filters(date(2026, 9, 1), date(2026, 11, 30), Grain.month)


def _history(database: Database, program: ProgramConfig) -> ProgramConfig:
    """The shared history with points valid 30 days, A paying 40 points on 11-15, and the
    expiry job run at the end of 11-30."""
    program = set_rules(database, points_validity={"type": "rolling_days", "days": 30})
    cards = build(database, program)
    with database.session_scope() as session:
        a = member_service.find(session, program_id=program.id, member_no=cards["A"])
        post_order(
            session,
            program,
            a,
            amount_minor=1_000,
            points=40,
            external_id="O-A3",
            occurred_at=at("2026-11-15"),
            store_code="SH001",
            timing=Timing.replay(at("2026-11-15")),
        )
    expiry.run(database, program=program, as_of=at("2026-11-30", "23:59:59"))
    return program


def _member_entries(database: Database, asset: str, before: object) -> int:
    with database.session_scope(read_only=True) as session:
        total = session.scalar(
            select(func.coalesce(func.sum(LedgerEntry.amount), 0))
            .join(Account, Account.id == LedgerEntry.account_id)
            .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
            .where(
                Account.code == AccountCode.member,
                LedgerEntry.asset == asset,
                LedgerTransaction.occurred_at < before,
            )
        )
    return int(total or 0)


def test_the_flows_add_up_to_the_ledgers_balances_and_the_liability(
    database: Database, program: ProgramConfig
) -> None:
    program = _history(database, program)
    with database.session_scope(read_only=True) as session:
        report = service.points(session, program=program, filters=WHOLE, viewer=None)
        owed = liability.report(session, program=program, on=WHOLE.date_to)
    flows = report.points
    # then what members hold is what was issued, less redeemed and expired, plus adjusted:
    # the sum of their entries, and the liability report's figure
    held = _member_entries(database, Asset.points, owed.at)
    assert flows.issued - flows.redeemed - flows.expired + flows.adjusted == held
    assert report.outstanding.points - report.outstanding.points_debt == held
    assert report.outstanding.points == owed.total.points
    assert report.outstanding.expiring == owed.total.expiring
    assert report.outstanding.points_value_minor == owed.value_minor(owed.total.points)
    wallet = report.wallet
    principal = _member_entries(database, Asset.wallet_principal, owed.at)
    bonus = _member_entries(database, Asset.wallet_bonus, owed.at)
    assert (
        wallet.recharged_principal - wallet.refunded_principal - wallet.spent_principal
        == principal
        == report.outstanding.wallet_principal
    )
    assert wallet.bonus_given - wallet.bonus_forfeited - wallet.spent_bonus == bonus
    # and issued is what the orders earned less what their refunds took back; 40 paid
    with database.session_scope(read_only=True) as session:
        earned = session.scalar(select(func.sum(Order.points_earned - Order.points_reversed)))
    assert (flows.issued, flows.redeemed) == (earned, 40)
    assert flows.expired > 0
    assert (wallet.recharged_principal, wallet.bonus_given) == (50_000, 5_000)
    assert report.breakage_rate == Decimal(flows.expired / flows.issued).quantize(Decimal("0.0001"))
    assert sum(b.issued for b in report.points_by_period) == flows.issued
    assert [b.key for b in report.points_by_period] == ["2026-09", "2026-10", "2026-11"]


def test_a_store_bound_viewer_sees_its_home_members_points_and_stored_value(
    database: Database, program: ProgramConfig
) -> None:
    program = _history(database, program)
    with database.session_scope(read_only=True) as session:
        own = service.points(session, program=program, filters=WHOLE, viewer={"SH002"})
        owed = liability.report(session, program=program, on=WHOLE.date_to, stores=["SH002"])
        b_earned = session.scalar(
            select(func.sum(Order.points_earned - Order.points_reversed))
            .join(Member, Member.id == Order.member_id)
            .join(Store, Store.id == Member.store_id)
            .where(Store.code == "SH002")
        )
    # B (home SH002) earned and bought at SH001 too: the figures follow the home store
    assert (own.points.issued, own.points.redeemed) == (b_earned, 0)
    assert (own.wallet.recharged_principal, own.outstanding.wallet_principal) == (0, 0)
    assert own.outstanding.points == owed.total.points
