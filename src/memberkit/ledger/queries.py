"""Read side of the ledger: balances with expiring lots, statements."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from memberkit.kit.time import as_utc
from memberkit.ledger.models import (
    Account,
    AccountCode,
    Asset,
    LedgerEntry,
    LedgerTransaction,
    PointsLot,
)
from memberkit.ledger.repository import live_points
from memberkit.member.models import Member
from memberkit.store.models import Store


@dataclass(frozen=True)
class LotView:
    """Points still held in one lot and when they expire."""

    remaining: int
    earned_at: datetime
    expires_at: datetime | None


@dataclass(frozen=True)
class PointsView:
    """A member's points: balance, debt, and the lots ordered by expiry."""

    balance: int
    debt: int
    expiring_within: int
    lots: list[LotView]


def points(session: Session, *, member_id: int, now: datetime, horizon: datetime) -> PointsView:
    """Return the balance and open lots; ``expiring_within`` sums lots expiring before horizon.

    Lots already past their expiry at ``now`` count nowhere, whether or not the expiry job
    has reached them yet.
    """
    balance = live_points(session, member_id=member_id, as_of=now)
    rows = session.execute(
        select(PointsLot.remaining, PointsLot.earned_at, PointsLot.expires_at)
        .where(
            PointsLot.member_id == member_id,
            PointsLot.remaining > 0,
            or_(PointsLot.expires_at.is_(None), PointsLot.expires_at > now),
        )
        .order_by(PointsLot.expires_at.is_(None), PointsLot.expires_at, PointsLot.id)
    )
    lots = [LotView(r.remaining, r.earned_at, r.expires_at) for r in rows]
    soon = sum(
        lot.remaining for lot in lots if lot.expires_at is not None and lot.expires_at <= horizon
    )
    return PointsView(balance=balance, debt=max(0, -balance), expiring_within=soon, lots=lots)


@dataclass(frozen=True)
class ExpiringRow:
    """A member with points expiring soon: how many, and the first expiry."""

    member_no: str
    points: int
    first_expiry: datetime


def expiring(
    session: Session,
    *,
    program_id: int,
    now: datetime,
    horizon: datetime,
    offset: int,
    limit: int,
) -> tuple[int, int, list[ExpiringRow]]:
    """Return (members, points, page) of points expiring after ``now`` by ``horizon``.

    Soonest first; lots already past expiry (not yet reached by the job) are not listed.
    """
    due = (
        select(
            PointsLot.member_id,
            func.sum(PointsLot.remaining).label("points"),
            func.min(PointsLot.expires_at).label("first_expiry"),
        )
        .where(
            PointsLot.program_id == program_id,
            PointsLot.remaining > 0,
            PointsLot.expires_at > now,
            PointsLot.expires_at <= horizon,
        )
        .group_by(PointsLot.member_id)
        .subquery()
    )
    members, points = session.execute(
        select(func.count(), func.coalesce(func.sum(due.c.points), 0))
    ).one()
    rows = session.execute(
        select(Member.member_no, due.c.points, due.c.first_expiry)
        .join(Member, Member.id == due.c.member_id)
        .order_by(due.c.first_expiry, Member.member_no)
        .offset(offset)
        .limit(limit)
    )
    return (
        int(members),
        int(points),
        [ExpiringRow(row.member_no, int(row.points), as_utc(row.first_expiry)) for row in rows],
    )


# Reconciliation reads (``memberkit ledger check``): each lists at most ``limit`` rows.


def transaction_count(session: Session) -> int:
    """Return how many transactions have entries."""
    return session.scalar(select(func.count(func.distinct(LedgerEntry.transaction_id)))) or 0


def unbalanced_transactions(session: Session, *, limit: int) -> list[tuple[int, str, int]]:
    """Return (transaction, asset, sum) where a transaction's entries of an asset miss 0."""
    return [
        (txn, asset, total)
        for txn, asset, total in session.execute(
            select(LedgerEntry.transaction_id, LedgerEntry.asset, func.sum(LedgerEntry.amount))
            .group_by(LedgerEntry.transaction_id, LedgerEntry.asset)
            .having(func.sum(LedgerEntry.amount) != 0)
            .limit(limit)
        )
    ]


def member_account_count(session: Session) -> int:
    """Return how many member accounts there are."""
    member_accounts = select(Account).where(Account.code == AccountCode.member)
    return session.scalar(select(func.count()).select_from(member_accounts.subquery())) or 0


def accounts_off_entries(session: Session, *, limit: int) -> list[tuple[int, str, str, int, int]]:
    """Return (account, member_no, asset, balance, Σ entries) where balance ≠ Σ entries."""
    sums = (
        select(LedgerEntry.account_id, func.sum(LedgerEntry.amount).label("total"))
        .group_by(LedgerEntry.account_id)
        .subquery()
    )
    return [
        (account_id, member_no, asset, balance, total)
        for account_id, member_no, asset, balance, total in session.execute(
            select(
                Account.id,
                Member.member_no,
                Account.asset,
                Account.balance,
                func.coalesce(sums.c.total, 0),
            )
            .join(Member, Member.id == Account.member_id)
            .outerjoin(sums, sums.c.account_id == Account.id)
            .where(
                Account.code == AccountCode.member,
                Account.balance != func.coalesce(sums.c.total, 0),
            )
            .limit(limit)
        )
    ]


def lot_count(session: Session) -> int:
    """Return how many points lots there are."""
    return session.scalar(select(func.count(PointsLot.id))) or 0


def lots_off_entries(session: Session, *, limit: int) -> list[tuple[int, int, int, int]]:
    """Return (lot, remaining, amount, Σ entries) of lots not within [0, amount] or ≠ Σ entries."""
    lot_sums = (
        select(LedgerEntry.lot_id, func.sum(LedgerEntry.amount).label("total"))
        .where(LedgerEntry.lot_id.is_not(None))
        .group_by(LedgerEntry.lot_id)
        .subquery()
    )
    return [
        (lot_id, remaining, amount, total)
        for lot_id, remaining, amount, total in session.execute(
            select(
                PointsLot.id,
                PointsLot.remaining,
                PointsLot.amount,
                func.coalesce(lot_sums.c.total, 0),
            )
            .outerjoin(lot_sums, lot_sums.c.lot_id == PointsLot.id)
            .where(
                (PointsLot.remaining != func.coalesce(lot_sums.c.total, 0))
                | (PointsLot.remaining < 0)
                | (PointsLot.remaining > PointsLot.amount)
            )
            .limit(limit)
        )
    ]


def points_off_lots(session: Session, *, limit: int) -> list[tuple[str, int, int]]:
    """Return (member_no, points balance, held in lots) where lots do not cover the balance.

    Lots hold exactly a non-negative balance, and nothing when the balance is a debt.
    """
    held = (
        select(PointsLot.member_id, func.sum(PointsLot.remaining).label("held"))
        .group_by(PointsLot.member_id)
        .subquery()
    )
    return [
        (member_no, balance, in_lots)
        for member_no, balance, in_lots in session.execute(
            select(Member.member_no, Account.balance, func.coalesce(held.c.held, 0))
            .join(Member, Member.id == Account.member_id)
            .outerjoin(held, held.c.member_id == Account.member_id)
            .where(
                Account.code == AccountCode.member,
                Account.asset == "points",
                or_(
                    and_(Account.balance >= 0, func.coalesce(held.c.held, 0) != Account.balance),
                    and_(Account.balance < 0, func.coalesce(held.c.held, 0) != 0),
                ),
            )
            .limit(limit)
        )
    ]


def entries_off_running_sum(session: Session, *, limit: int) -> list[tuple[int, int, int]]:
    """Return (entry, balance_after, running sum) of member entries whose running sum differs."""
    running = (
        select(
            LedgerEntry.id,
            LedgerEntry.balance_after,
            func.sum(LedgerEntry.amount)
            .over(partition_by=LedgerEntry.account_id, order_by=LedgerEntry.id)
            .label("running"),
        )
        .join(
            Account, and_(Account.id == LedgerEntry.account_id, Account.code == AccountCode.member)
        )
        .subquery()
    )
    return [
        (entry_id, after, expected)
        for entry_id, after, expected in session.execute(
            select(running.c.id, running.c.balance_after, running.c.running)
            .where(running.c.balance_after != running.c.running)
            .limit(limit)
        )
    ]


def wallets_below_zero(session: Session, *, limit: int) -> list[tuple[str, str, int]]:
    """Return (member_no, asset, balance) of stored-value accounts below zero."""
    return [
        (member_no, asset, balance)
        for member_no, asset, balance in session.execute(
            select(Member.member_no, Account.asset, Account.balance)
            .join(Member, Member.id == Account.member_id)
            .where(
                Account.code == AccountCode.member,
                Account.asset.in_([Asset.wallet_principal, Asset.wallet_bonus]),
                Account.balance < 0,
            )
            .limit(limit)
        )
    ]


def members_below_zero(session: Session, *, asset: str, limit: int) -> list[tuple[str, int]]:
    """Return (member_no, balance) of members whose ``asset`` balance is negative, lowest first."""
    return [
        (member_no, balance)
        for member_no, balance in session.execute(
            select(Member.member_no, Account.balance)
            .join(Member, Member.id == Account.member_id)
            .where(Account.code == AccountCode.member, Account.asset == asset, Account.balance < 0)
            .order_by(Account.balance, Member.member_no)
            .limit(limit)
        )
    ]


def members_holding(session: Session, *, program_id: int, assets: Collection[str]) -> int:
    """Return what the program's members hold of ``assets`` in all: the sum of their balances.

    Outstanding points (debts count against it), or stored value outstanding.
    """
    total = session.scalar(
        select(func.coalesce(func.sum(Account.balance), 0)).where(
            Account.program_id == program_id,
            Account.member_id.is_not(None),
            Account.asset.in_(assets),
        )
    )
    return int(total or 0)


#: The horizons of expiring points a liability report shows (days after its moment).
LIABILITY_HORIZONS = (30, 60, 90)


@dataclass
class StoreLiability:
    """What the program owes the members of one store (their home store; None: none) at a moment.

    ``points``: points in lots still live at the moment; ``points_debt``: points members owe
    (refunds of spent points); ``expiring``: of ``points``, what expires within each horizon
    (cumulative); ``wallet_principal`` and ``wallet_bonus`` in minor units.
    """

    store_code: str | None
    points: int = 0
    points_debt: int = 0
    wallet_principal: int = 0
    wallet_bonus: int = 0
    expiring: dict[int, int] = field(default_factory=lambda: dict.fromkeys(LIABILITY_HORIZONS, 0))


def liability(
    session: Session,
    *,
    program_id: int,
    at: datetime,
    stores: Collection[str] | None = None,
    tier: str | None = None,
) -> list[StoreLiability]:
    """Return the program's liability at the moment ``at``, by the members' home store.

    Computed from the ledger's entries dated (``occurred_at``) before ``at`` alone, so a
    past date shows what was owed then, whenever the expiry job ran: a lot past its expiry at
    ``at`` counts nowhere, expired or not. ``stores`` limits it to members of those stores,
    ``tier`` to members now in that tier.
    """
    by_store: dict[str | None, StoreLiability] = {}

    def of(code: str | None) -> StoreLiability:
        return by_store.setdefault(code, StoreLiability(code))

    horizon = {
        days: and_(PointsLot.expires_at > at, PointsLot.expires_at <= at + timedelta(days=days))
        for days in LIABILITY_HORIZONS
    }
    live = or_(PointsLot.expires_at.is_(None), PointsLot.expires_at > at)
    scope = [Account.program_id == program_id, Account.code == AccountCode.member]
    if stores is not None:
        scope.append(Store.code.in_(stores))
    if tier is not None:
        scope.append(Member.tier_code == tier)
    dated = LedgerTransaction.occurred_at < at
    lotted = (
        select(
            Store.code,
            func.coalesce(func.sum(case((live, LedgerEntry.amount), else_=0)), 0),
            *(
                func.coalesce(func.sum(case((window, LedgerEntry.amount), else_=0)), 0)
                for window in horizon.values()
            ),
        )
        .select_from(LedgerEntry)
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .join(Account, Account.id == LedgerEntry.account_id)
        .join(PointsLot, PointsLot.id == LedgerEntry.lot_id)
        .join(Member, Member.id == Account.member_id)
        .outerjoin(Store, Store.id == Member.store_id)
        .where(*scope, dated, LedgerEntry.asset == Asset.points)
        .group_by(Store.code)
    )
    for code, points, *expiring in session.execute(lotted):
        found = of(code)
        found.points = int(points)
        found.expiring = {
            days: int(amount) for days, amount in zip(LIABILITY_HORIZONS, expiring, strict=True)
        }
    unlotted = (
        select(Store.code, LedgerEntry.asset, func.sum(LedgerEntry.amount))
        .select_from(LedgerEntry)
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
        .join(Account, Account.id == LedgerEntry.account_id)
        .join(Member, Member.id == Account.member_id)
        .outerjoin(Store, Store.id == Member.store_id)
        .where(
            *scope,
            dated,
            or_(
                and_(LedgerEntry.asset == Asset.points, LedgerEntry.lot_id.is_(None)),
                LedgerEntry.asset.in_((Asset.wallet_principal, Asset.wallet_bonus)),
            ),
        )
        .group_by(Store.code, LedgerEntry.asset)
    )
    for code, asset, amount in session.execute(unlotted):
        found = of(code)
        if asset == Asset.points:
            found.points_debt = -int(amount)  # what points entries outside any lot left owed
        elif asset == Asset.wallet_principal:
            found.wallet_principal = int(amount)
        else:
            found.wallet_bonus = int(amount)
    return sorted(by_store.values(), key=lambda row: (row.store_code is None, row.store_code or ""))
