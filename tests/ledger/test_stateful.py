"""The ledger against a plain in-memory model.

Random orders (some paid partly with points or stored value), refunds, manual adjustments,
stored-value recharges and expiry runs go
through the real services and database; every request is replayed with its key and must change
nothing; after every step the ledger check holds and every balance, lot and order counter equals
the model's.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import astuple, dataclass, field
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from memberkit.config import settings as config
from memberkit.db import Database
from memberkit.kit.time import as_utc, utcnow
from memberkit.ledger import expiry
from memberkit.ledger import service as ledger_service
from memberkit.ledger.check import check
from memberkit.ledger.expiry import ExpiryRun
from memberkit.ledger.models import Account, AccountCode, LedgerEntry, LedgerTransaction, PointsLot
from memberkit.ledger.service import InsufficientPoints, InsufficientWallet
from memberkit.member import service as member_service
from memberkit.order import service as order_service
from memberkit.order.models import Order, OrderLine, OrderPayment, Refund, RefundLine
from memberkit.order.service import (
    LineIn,
    MemberRef,
    OrderExists,
    OrderIn,
    PaymentIn,
    RefundExceedsOrder,
    RefundExists,
    RefundIn,
)
from memberkit.program import service as program_service
from memberkit.wallet import service as wallet_service
from memberkit.wallet.models import WalletRecharge
from memberkit.wallet.service import RechargeExists, WalletFull
from tests.conftest import _reset as reset
from tests.conftest import set_rules

#: Every lot with an expiry date is due by then (the default program keeps points to the end
#: of next year; expiring adjustments use LATE_EXPIRY).
FAR_FUTURE = datetime(2200, 1, 1, tzinfo=UTC)
LATE_EXPIRY = datetime(2199, 12, 31, tzinfo=UTC)
MEMBERS = 2
#: One tier, multiplier 1: every order earns 1 point and 1 growth per whole yuan paid in cash.
ONE_TIER = {"tiers": [{"code": "regular", "name": "普通会员", "multiplier": "1"}]}

SETTINGS = settings(
    max_examples=25,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

T = TypeVar("T")


def short_of(needed: int, balance: int) -> dict[str, int]:
    """The parameters of a refused spend: a member in debt has 0 available and owes the rest."""
    if balance < 0:
        return {"needed": needed, "balance": 0, "debt": -balance}
    return {"needed": needed, "balance": balance}


def half_up(value: Fraction) -> int:
    """Round half up, as refund reversals are specified."""
    return int((value + Fraction(1, 2)).__floor__())


@dataclass
class LotModel:
    """One lot: when it expires (None: never), what is left, what expiry took from it."""

    number: int
    expires_at: datetime | None
    remaining: int
    expired: int = 0
    line: LotModel | None = None  # the lot whose returned points these are


@dataclass
class MemberModel:
    """What one member should hold: points lot by lot, debt, growth and stored value."""

    member_id: int
    member_no: str
    lots: list[LotModel] = field(default_factory=list)
    debt: int = 0
    growth: int = 0
    principal: int = 0
    bonus: int = 0

    @property
    def balance(self) -> int:
        return sum(lot.remaining for lot in self.lots) - self.debt

    def held(self) -> list[tuple[datetime | None, int]]:
        """The open lots as (expiry, remaining), in a canonical order."""
        return sorted(
            ((lot.expires_at, lot.remaining) for lot in self.lots if lot.remaining),
            key=lambda item: (item[0] is None, item[0] or FAR_FUTURE, item[1]),
        )

    def credit(
        self,
        points: int,
        *,
        expires_at: datetime | None,
        settle: bool = True,
        line: LotModel | None = None,
    ) -> LotModel | None:
        """A credit pays off debt first (unless ``settle`` is off); the rest is a new lot."""
        if points <= 0:
            return None
        settled = min(self.debt, points) if settle else 0
        self.debt -= settled
        if points == settled:
            return None
        lot = LotModel(len(self.lots), expires_at, points - settled, line=line)
        self.lots.append(lot)
        return lot

    def line_of(self, lot: LotModel | None) -> list[LotModel]:
        """A lot and the lots its returned points went to."""
        return [] if lot is None else [x for x in self.lots if x is lot or x.line is lot]

    def take(
        self, points: int, *, first: list[LotModel] | None = None
    ) -> list[tuple[LotModel, int]]:
        """Take points from lots (``first``, then earliest expiry); the rest becomes debt."""
        first_ids = {id(lot) for lot in first or []}
        order = sorted(
            (lot for lot in self.lots if lot.remaining),
            key=lambda lot: (
                id(lot) not in first_ids,
                lot.expires_at is None,
                lot.expires_at or FAR_FUTURE,
                lot.number,
            ),
        )
        takes = []
        for lot in order:
            if not points:
                break
            took = min(lot.remaining, points)
            lot.remaining -= took
            points -= took
            takes.append((lot, took))
        self.debt += points
        return takes

    def spend(self, points: int) -> list[tuple[LotModel, int]]:
        """A spend never makes debt: the model only spends what is there."""
        if not points:
            return []
        assert points <= self.balance, "the model only spends what is there"
        takes = self.take(points)
        assert self.debt == 0 or not points
        return takes

    def expire(self, as_of: datetime) -> int:
        """Expiry empties every lot whose expiry has passed."""
        gone = 0
        for lot in self.lots:
            if lot.expires_at is not None and lot.expires_at <= as_of and lot.remaining:
                gone += lot.remaining
                lot.expired += lot.remaining
                lot.remaining = 0
        return gone


@dataclass
class OrderModel:
    """One single-line order and what its refunds have taken back so far."""

    external_id: str
    member: MemberModel
    total: int
    quantity: int
    points_paid: int
    points_earned: int
    growth_earned: int
    refunded_minor: int = 0
    refunded_quantity: int = 0
    points_reversed: int = 0
    growth_reversed: int = 0
    points_returned: int = 0
    principal_paid: int = 0
    bonus_paid: int = 0
    principal_returned: int = 0
    bonus_returned: int = 0
    lot: LotModel | None = None
    spent: list[tuple[LotModel, int]] = field(default_factory=list)
    already_expired: int = 0

    @property
    def left(self) -> int:
        return self.total - self.refunded_minor

    @property
    def units_left(self) -> int:
        return self.quantity - self.refunded_quantity

    def units_amount(self, units: int) -> int | None:
        """What returning ``units`` gives back: their share of what is left (None: too many).

        The last units take all that is left, so an order refunded in any mix of amounts and
        units gives back exactly its total.
        """
        if not 0 < units <= self.units_left:
            return None
        if units == self.units_left:
            return self.left
        return self.left * units // self.units_left

    def refund(self, amount: int, quantity: int, *, now: datetime) -> tuple[int, int, int, int]:
        """Apply a refund; returns (points taken, growth reversed, points returned, expired).

        Cumulative shares rounded half up: pieces add up to exactly what one refund would take.
        The claw-back takes from the order's own lot first; what expired from that lot is not
        taken again; the rest (what was spent) comes from other lots or becomes debt. Then the
        points that paid for the refunded part go back with the expiry of the lots they were
        spent from, the lot spent last first.
        """
        self.refunded_minor += amount
        self.refunded_quantity += quantity
        share = Fraction(self.refunded_minor, self.total)
        reversed_ = half_up(self.points_earned * share) - self.points_reversed
        growth = half_up(self.growth_earned * share) - self.growth_reversed
        returned = half_up(self.points_paid * share) - self.points_returned
        paid = self.principal_paid + self.bonus_paid
        back = half_up(paid * share)  # the wallet's part, rounded once, split as it was paid
        bonus_back = back * self.bonus_paid // paid if paid else 0
        principal = back - bonus_back - self.principal_returned
        bonus = bonus_back - self.bonus_returned
        self.points_reversed += reversed_
        self.growth_reversed += growth
        self.points_returned += returned
        self.principal_returned += principal
        self.bonus_returned += bonus
        own = self.member.line_of(self.lot)
        from_own = min(reversed_, sum(lot.remaining for lot in own))
        expired_before = sum(lot.expired for lot in own) - self.already_expired
        already = min(reversed_ - from_own, expired_before)
        self.already_expired += already
        self.member.take(reversed_ - already, first=own)
        self.member.growth -= growth
        skip, left = self.points_returned - returned, returned
        for lot, took in reversed(self.spent):
            passed = min(skip, took)
            skip -= passed
            part = min(took - passed, left)
            left -= part
            lapsed = lot.expires_at is not None and lot.expires_at <= now
            self.member.credit(
                part, expires_at=lot.expires_at, settle=not lapsed, line=lot.line or lot
            )
        self.member.expire(now)
        self.member.principal += principal
        self.member.bonus += bonus
        return reversed_ - already, growth, returned, already

    def counters(self) -> tuple[int, ...]:
        return (
            self.refunded_minor,
            self.points_reversed,
            self.growth_reversed,
            self.points_returned,
            self.principal_returned,
            self.bonus_returned,
        )


def snapshot(session: Session) -> dict[str, Any]:
    """Everything a refused or replayed request must leave as it was.

    Row counts of every table a posting writes; every account's balance, every lot's remaining
    points, every order's and line's refund counters.
    """
    tables = (
        Order,
        OrderLine,
        OrderPayment,
        Refund,
        RefundLine,
        LedgerTransaction,
        LedgerEntry,
        PointsLot,
        WalletRecharge,
    )
    counts = session.execute(
        select(*(select(func.count()).select_from(t).scalar_subquery() for t in tables))
    ).one()
    return {
        "counts": dict(zip((t.__tablename__ for t in tables), counts, strict=True)),
        "accounts": rows(session, select(Account.id, Account.balance)),
        "lots": rows(session, select(PointsLot.id, PointsLot.remaining)),
        "orders": rows(
            session,
            select(
                Order.id,
                Order.refunded_minor,
                Order.points_reversed,
                Order.growth_reversed,
                Order.points_returned,
            ),
        ),
        "lines": rows(
            session,
            select(OrderLine.id, OrderLine.refunded_quantity, OrderLine.refunded_minor),
        ),
    }


def rows(session: Session, query: Any) -> list[tuple[Any, ...]]:
    return sorted(tuple(row) for row in session.execute(query))


@dataclass(frozen=True)
class Purchase:
    """A drawn order: whose, how many units at what price, points paid, how often replayed."""

    who: int
    quantity: int
    unit_price: int
    points: int | None
    replays: int
    wallet: int | None = None


def purchases(points: st.SearchStrategy[int | None] | None = None) -> st.SearchStrategy[Purchase]:
    return st.builds(
        Purchase,
        who=st.integers(0, MEMBERS - 1),
        quantity=st.integers(1, 3),
        unit_price=st.integers(1, 10_000),
        points=st.none() | st.integers(1, 600) if points is None else points,
        replays=st.integers(1, 3),
        wallet=st.none() | st.integers(1, 20_000),
    )


def recharge_bonus(amount: int) -> int:
    """The default steps: 充500送50, 充1000送150."""
    return 15_000 if amount >= 100_000 else 5_000 if amount >= 50_000 else 0


def ledger_machine(database: Database) -> type[RuleBasedStateMachine]:
    """Build the state machine class bound to the test database."""

    class LedgerMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.serial = itertools.count(1)
            self.members: list[MemberModel] = []
            self.orders: list[OrderModel] = []

        # -- helpers ---------------------------------------------------------------------

        def expiry(self, earned_at: datetime) -> datetime | None:
            """When points earned at ``earned_at`` expire under the program's policy."""
            return self.program.validity.expires_at(earned_at, config.tz)

        def key(self, kind: str) -> str:
            return f"{kind}-{next(self.serial)}"

        def send(self, call: Callable[[Session], T]) -> T:
            """One request: one unit of work."""
            with database.session_scope() as session:
                return call(session)

        def refused(self, error: type[BaseException], call: Callable[[Session], Any]) -> Any:
            """Send a request that must be refused and change nothing; returns the error."""
            with database.session_scope() as session:
                before = snapshot(session)
            with pytest.raises(error) as caught:
                self.send(call)
            with database.session_scope() as session:
                assert snapshot(session) == before
            return caught.value

        def draw_order(self, data: st.DataObject, usable: Callable[[OrderModel], bool]) -> Any:
            return data.draw(st.sampled_from([o for o in self.orders if usable(o)]))

        # -- setup -----------------------------------------------------------------------

        @initialize(
            opening=st.lists(purchases(points=st.none()), max_size=4),
            wallets=st.lists(st.integers(0, 100_000), min_size=MEMBERS, max_size=MEMBERS),
        )
        def enrol(self, opening: list[Purchase], wallets: list[int]) -> None:
            # Examples share the test's database: each starts from empty tables.
            reset(database)
            self.program = set_rules(database, tier_ladder=ONE_TIER)
            with database.session_scope() as session:
                for _ in range(MEMBERS):
                    member = member_service.register(
                        session, program_id=self.program.id, phone=f"1390000000{len(self.members)}"
                    )
                    self.members.append(MemberModel(member.id, member.member_no))
            for who, amount in enumerate(wallets):
                if amount:
                    self.recharge(who, amount, replays=1)
            for purchase in opening:
                self.post_order(purchase)

        # -- rules -----------------------------------------------------------------------

        @rule(purchase=purchases())
        def post_order(self, purchase: Purchase) -> None:
            who, quantity, unit_price, points, replays, wallet = astuple(purchase)
            member = self.members[who]
            total = quantity * unit_price
            paid_points = min(points or 0, total)
            from_wallet = min(wallet or 0, total - paid_points)
            cash = total - paid_points - from_wallet
            payments = [PaymentIn("cash", amount_minor=cash)] if cash else []
            if paid_points:
                payments.append(PaymentIn("points", points=paid_points))
            if from_wallet:
                payments.append(PaymentIn("wallet", amount_minor=from_wallet))
            order = OrderIn(
                external_id=self.key("O"),
                member=MemberRef(member_no=member.member_no),
                store_code=None,
                channel="store",
                occurred_at=utcnow(),
                lines=[LineIn("SKU-1", "Tea", "drinks", quantity, unit_price, total)],
                payments=payments,
            )

            def call(session: Session) -> order_service.OrderResult:
                return order_service.post_order(session, program=self.program, order=order)

            if paid_points and paid_points > member.balance:
                for _ in range(1 + replays):
                    error = self.refused(InsufficientPoints, call)
                    assert error.params == short_of(paid_points, member.balance)
                return
            held = member.principal + member.bonus
            if from_wallet > held:
                for _ in range(1 + replays):
                    self.refused(InsufficientWallet, call)
                return
            from_bonus = from_wallet * member.bonus // held if from_wallet else 0
            result = self.send(call)
            # 1 point and 1 growth per whole yuan paid in money; the wallet's bonus is not money
            earned = (cash + from_wallet - from_bonus) // 100
            spent = member.spend(paid_points)
            lot = member.credit(earned, expires_at=self.expiry(order.occurred_at))
            member.growth += earned
            member.principal -= from_wallet - from_bonus
            member.bonus -= from_bonus
            self.orders.append(
                OrderModel(
                    order.external_id,
                    member,
                    total,
                    quantity,
                    paid_points,
                    earned,
                    earned,
                    principal_paid=from_wallet - from_bonus,
                    bonus_paid=from_bonus,
                    lot=lot,
                    spent=spent,
                )
            )
            assert (result.wallet_principal_paid, result.wallet_bonus_paid) == (
                from_wallet - from_bonus,
                from_bonus,
            )
            assert (
                result.total_minor,
                result.points_paid,
                result.points_earned,
                result.growth_earned,
                result.points_balance,
                result.growth_balance,
            ) == (total, paid_points, earned, earned, member.balance, member.growth)
            for _ in range(replays):
                self.refused(OrderExists, call)

        def _refund(
            self,
            order: OrderModel,
            *,
            amount: int | None,
            lines: dict[int, int],
            expect_amount: int,
            expect_quantity: int,
            replays: int,
        ) -> None:
            refund = RefundIn(
                external_id=self.key("R"),
                order_external_id=order.external_id,
                occurred_at=utcnow(),
                amount_minor=amount,
                lines=lines,
            )

            def call(session: Session) -> order_service.RefundResult:
                return order_service.post_refund(session, program=self.program, refund=refund)

            result = self.send(call)
            reversed_, growth, returned, already = order.refund(
                expect_amount, expect_quantity, now=utcnow()
            )
            member = order.member
            assert (
                result.amount_minor,
                result.points_reversed,
                result.growth_reversed,
                result.points_returned,
                result.points_balance,
                result.growth_balance,
                result.points_debt,
                result.points_already_expired,
            ) == (
                expect_amount,
                reversed_,
                growth,
                returned,
                member.balance,
                member.growth,
                member.debt,
                already,
            )
            for _ in range(replays):
                # The same refund again: refused by the refunds' unique external id.
                self.refused(RefundExists, call)

        @precondition(lambda self: any(o.left for o in self.orders))
        @rule(data=st.data(), replays=st.integers(1, 3))
        def refund_part(self, data: st.DataObject, replays: int) -> None:
            order = self.draw_order(data, lambda o: o.left > 0)
            amount = data.draw(st.integers(1, order.left), label="amount")
            self._refund(
                order,
                amount=amount,
                lines={},
                expect_amount=amount,
                expect_quantity=0,
                replays=replays,
            )

        @precondition(lambda self: bool(self.orders))
        @rule(data=st.data(), replays=st.integers(1, 3))
        def refund_rest(self, data: st.DataObject, replays: int) -> None:
            order = self.draw_order(data, lambda o: True)
            if not order.left:
                refund = RefundIn(self.key("R"), order.external_id, utcnow())
                for _ in range(1 + replays):
                    self.refused(
                        RefundExceedsOrder,
                        lambda s: order_service.post_refund(s, program=self.program, refund=refund),
                    )
                return
            self._refund(
                order,
                amount=None,
                lines={},
                expect_amount=order.left,
                expect_quantity=order.units_left,
                replays=replays,
            )

        @precondition(lambda self: any(o.units_left for o in self.orders))
        @rule(data=st.data(), replays=st.integers(1, 3))
        def refund_units(self, data: st.DataObject, replays: int) -> None:
            order = self.draw_order(data, lambda o: o.units_left > 0)
            units = data.draw(st.integers(1, order.units_left), label="units")
            amount = order.units_amount(units)
            if not amount:
                # Units whose share of what is left rounds to nothing give nothing back.
                refund = RefundIn(self.key("R"), order.external_id, utcnow(), lines={1: units})
                for _ in range(1 + replays):
                    self.refused(
                        RefundExceedsOrder,
                        lambda s: order_service.post_refund(s, program=self.program, refund=refund),
                    )
                return
            self._refund(
                order,
                amount=None,
                lines={1: units},
                expect_amount=amount,
                expect_quantity=units,
                replays=replays,
            )

        @precondition(lambda self: bool(self.orders))
        @rule(data=st.data())
        def refund_too_much(self, data: st.DataObject) -> None:
            order = self.draw_order(data, lambda o: True)
            excess = data.draw(st.integers(1, 1_000), label="excess")
            if data.draw(st.booleans(), label="by units"):
                units = {1: order.units_left + excess}
                refund = RefundIn(self.key("R"), order.external_id, utcnow(), lines=units)
            else:
                amount = order.left + excess
                refund = RefundIn(self.key("R"), order.external_id, utcnow(), amount_minor=amount)
            self.refused(
                RefundExceedsOrder,
                lambda s: order_service.post_refund(s, program=self.program, refund=refund),
            )

        @rule(
            who=st.integers(0, MEMBERS - 1),
            points=st.integers(-800, 1_000).filter(bool),
            lasting=st.booleans(),
            replays=st.integers(1, 3),
        )
        def adjust(self, who: int, points: int, lasting: bool, replays: int) -> None:
            member = self.members[who]
            key = self.key("A")

            def call(session: Session) -> ledger_service.Posting:
                locked = member_service.find(
                    session, program_id=self.program.id, member_no=member.member_no, lock=True
                )
                return ledger_service.adjust(
                    session,
                    program_id=self.program.id,
                    member_id=locked.id,
                    points=points,
                    reason="goodwill" if points > 0 else "correction",
                    actor="test",
                    key=key,
                    occurred_at=utcnow(),
                    expires_at=None if lasting else LATE_EXPIRY,
                )

            if points < 0 and -points > member.balance:
                for _ in range(1 + replays):
                    error = self.refused(InsufficientPoints, call)
                    assert error.params == short_of(-points, member.balance)
                return
            posting = self.send(call)
            if points > 0:
                member.credit(points, expires_at=None if lasting else LATE_EXPIRY)
            else:
                member.spend(-points)
            assert posting.balances == {"points": member.balance}
            for _ in range(replays):
                error = self.refused(IntegrityError, call)
                assert "ledger_transactions" in str(error.orig)

        @rule(
            who=st.integers(0, MEMBERS - 1),
            amount=st.integers(1, 200_000),
            replays=st.integers(1, 3),
        )
        def recharge(self, who: int, amount: int, replays: int) -> None:
            member = self.members[who]
            external_id = self.key("RC")

            def call(session: Session) -> wallet_service.RechargeResult:
                return wallet_service.recharge(
                    session,
                    program=self.program,
                    member_no=member.member_no,
                    external_id=external_id,
                    amount_minor=amount,
                    method="cash",
                    store_code=None,
                    occurred_at=utcnow(),
                )

            bonus = recharge_bonus(amount)
            if member.principal + member.bonus + amount + bonus > 500_000:
                for _ in range(1 + replays):
                    self.refused(WalletFull, call)
                return
            result = self.send(call)
            member.principal += amount
            member.bonus += bonus
            assert (result.bonus_minor, result.wallet.principal, result.wallet.bonus) == (
                bonus,
                member.principal,
                member.bonus,
            )
            for _ in range(replays):
                self.refused(RechargeExists, call)

        @rule(replays=st.integers(1, 3))
        def expire(self, replays: int) -> None:
            gone = {m.member_no: m.expire(FAR_FUTURE) for m in self.members}
            run = expiry.run(database, program=self.program, as_of=FAR_FUTURE)
            assert (run.members, run.points) == (
                sum(1 for points in gone.values() if points),
                sum(gone.values()),
            )
            for _ in range(replays):
                with database.session_scope() as session:
                    before = snapshot(session)
                assert expiry.run(database, program=self.program, as_of=FAR_FUTURE) == ExpiryRun(
                    0, 0, 0
                )
                with database.session_scope() as session:
                    assert snapshot(session) == before

        # -- invariants ------------------------------------------------------------------

        @invariant()
        def ledger_holds(self) -> None:
            with database.session_scope() as session:
                report = check(session)
                assert report.problems == []
                debts = {(m.member_no, m.debt) for m in self.members if m.debt}
                assert set(report.debts) == debts

        @invariant()
        def balances_match_the_model(self) -> None:
            if not self.members:
                return
            ids = [m.member_id for m in self.members]
            with database.session_scope() as session:
                balances = {
                    (member_id, asset): balance
                    for member_id, asset, balance in session.execute(
                        select(Account.member_id, Account.asset, Account.balance).where(
                            Account.member_id.in_(ids), Account.code == AccountCode.member
                        )
                    )
                }
                lots: dict[int, list[tuple[datetime | None, int]]] = {}
                for member_id, expires_at, remaining in session.execute(
                    select(PointsLot.member_id, PointsLot.expires_at, PointsLot.remaining).where(
                        PointsLot.member_id.in_(ids), PointsLot.remaining > 0
                    )
                ):
                    lots.setdefault(member_id, []).append(
                        (as_utc(expires_at) if expires_at else None, remaining)
                    )
                counters = {
                    external_id: tuple(counts)
                    for external_id, *counts in session.execute(
                        select(
                            Order.external_id,
                            Order.refunded_minor,
                            Order.points_reversed,
                            Order.growth_reversed,
                            Order.points_returned,
                            Order.wallet_principal_returned,
                            Order.wallet_bonus_returned,
                        ).where(Order.member_id.in_(ids))
                    )
                }
            for m in self.members:
                # A balance below zero only ever comes from a claw-back (the model's debt).
                assert balances[m.member_id, "points"] == m.balance
                assert balances[m.member_id, "growth"] == m.growth
                assert balances[m.member_id, "wallet_principal"] == m.principal
                assert balances[m.member_id, "wallet_bonus"] == m.bonus
                assert (
                    sorted(
                        lots.get(m.member_id, []),
                        key=lambda item: (item[0] is None, item[0] or FAR_FUTURE, item[1]),
                    )
                    == m.held()
                )
            assert counters == {o.external_id: o.counters() for o in self.orders}

    return LedgerMachine


def test_ledger_follows_the_model(database: Database) -> None:
    run_state_machine_as_test(ledger_machine(database), settings=SETTINGS)


# Two cases the machine reaches only by chance, pinned on their own.


def _paid_order(
    database: Database, *, quantity: int, unit_price: int
) -> program_service.ProgramConfig:
    """Post order O-1 of ``quantity`` × ``unit_price`` paid in cash; returns the program."""
    program = set_rules(database, tier_ladder=ONE_TIER)
    with database.session_scope() as session:
        member = member_service.register(session, program_id=program.id, phone="13700000001")
        order_service.post_order(
            session,
            program=program,
            order=OrderIn(
                external_id="O-1",
                member=MemberRef(member_no=member.member_no),
                store_code=None,
                channel="store",
                occurred_at=utcnow(),
                lines=[
                    LineIn("SKU-1", "Tea", "drinks", quantity, unit_price, quantity * unit_price)
                ],
                payments=[PaymentIn("cash", amount_minor=quantity * unit_price)],
            ),
        )
    return program


def refund(
    database: Database, program: program_service.ProgramConfig, request: RefundIn
) -> order_service.RefundResult:
    with database.session_scope() as session:
        return order_service.post_refund(session, program=program, refund=request)


def test_units_refunded_after_an_amount_refund_share_what_is_left(database: Database) -> None:
    # given an order of 2 × 50.00 that earned 100 points, 90.00 of it refunded by amount
    program = _paid_order(database, quantity=2, unit_price=5_000)
    refund(database, program, RefundIn("R-1", "O-1", utcnow(), amount_minor=9_000))

    # when its two units are returned one by one
    first = refund(database, program, RefundIn("R-2", "O-1", utcnow(), lines={1: 1}))
    last = refund(database, program, RefundIn("R-3", "O-1", utcnow(), lines={1: 1}))

    # then each gives back half of the 10.00 left, never more than the order's total
    assert (first.amount_minor, first.points_reversed, first.points_balance) == (500, 5, 5)
    assert (last.amount_minor, last.points_reversed, last.points_balance) == (500, 5, 0)
    with database.session_scope() as session:
        order = session.scalars(select(Order).where(Order.external_id == "O-1")).one()
        assert (order.refunded_minor, order.points_reversed) == (10_000, 100)
        before = snapshot(session)

    # and a third unit is refused, changing nothing
    with pytest.raises(RefundExceedsOrder):
        refund(database, program, RefundIn("R-4", "O-1", utcnow(), lines={1: 1}))
    with database.session_scope() as session:
        assert snapshot(session) == before


def test_refund_of_the_rest_of_a_fully_refunded_order_is_refused(database: Database) -> None:
    # given an order of 100.00 refunded in full by amount
    program = _paid_order(database, quantity=1, unit_price=10_000)
    refund(database, program, RefundIn("R-1", "O-1", utcnow(), amount_minor=10_000))
    with database.session_scope() as session:
        before = snapshot(session)

    # when "the rest" of it is refunded
    # then nothing is left to refund: refused, and no empty refund is recorded
    with pytest.raises(RefundExceedsOrder):
        refund(database, program, RefundIn("R-2", "O-1", utcnow()))
    with database.session_scope() as session:
        assert snapshot(session) == before
