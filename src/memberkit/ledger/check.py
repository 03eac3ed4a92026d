"""Reconciliation: prove the ledger's promises from the entries themselves."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from memberkit.ledger.models import Account, AccountCode, Asset, LedgerEntry, PointsLot
from memberkit.member.models import Member


@dataclass
class CheckReport:
    """What the check found; ``problems`` empty means the ledger holds."""

    transactions: int = 0
    accounts: int = 0
    lots: int = 0
    problems: list[str] = field(default_factory=list)
    debts: list[tuple[str, int]] = field(default_factory=list)
    growth_debts: list[tuple[str, int]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every promise holds."""
        return not self.problems


def check(session: Session, *, limit: int = 50) -> CheckReport:
    """Verify the ledger's promises from its entries; list members in debt.

    Checks zero-sum per transaction and asset, balance = Σ entries for every member account,
    lot remaining = Σ its entries within [0, amount], lots covering exactly a non-negative
    balance, each entry's running balance, and no stored value below zero. Lists members whose
    points balance is negative (debt), and members whose growth is negative (a refund took back
    growth that decay had already taken): both may happen, and are reported, not failed.
    """
    report = CheckReport()
    report.transactions = (
        session.scalar(select(func.count(func.distinct(LedgerEntry.transaction_id)))) or 0
    )
    for txn, asset, total in session.execute(
        select(LedgerEntry.transaction_id, LedgerEntry.asset, func.sum(LedgerEntry.amount))
        .group_by(LedgerEntry.transaction_id, LedgerEntry.asset)
        .having(func.sum(LedgerEntry.amount) != 0)
        .limit(limit)
    ):
        report.problems.append(f"transaction {txn}: {asset} entries sum to {total}, not 0")

    sums = (
        select(LedgerEntry.account_id, func.sum(LedgerEntry.amount).label("total"))
        .group_by(LedgerEntry.account_id)
        .subquery()
    )
    member_accounts = select(Account).where(Account.code == AccountCode.member)
    report.accounts = (
        session.scalar(select(func.count()).select_from(member_accounts.subquery())) or 0
    )
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
            Account.code == AccountCode.member, Account.balance != func.coalesce(sums.c.total, 0)
        )
        .limit(limit)
    ):
        report.problems.append(
            f"account {account_id} ({member_no} {asset}): balance {balance}, "
            f"but entries sum to {total}"
        )

    lot_sums = (
        select(LedgerEntry.lot_id, func.sum(LedgerEntry.amount).label("total"))
        .where(LedgerEntry.lot_id.is_not(None))
        .group_by(LedgerEntry.lot_id)
        .subquery()
    )
    report.lots = session.scalar(select(func.count(PointsLot.id))) or 0
    for lot_id, remaining, amount, total in session.execute(
        select(
            PointsLot.id, PointsLot.remaining, PointsLot.amount, func.coalesce(lot_sums.c.total, 0)
        )
        .outerjoin(lot_sums, lot_sums.c.lot_id == PointsLot.id)
        .where(
            (PointsLot.remaining != func.coalesce(lot_sums.c.total, 0))
            | (PointsLot.remaining < 0)
            | (PointsLot.remaining > PointsLot.amount)
        )
        .limit(limit)
    ):
        report.problems.append(
            f"lot {lot_id}: remaining {remaining} of {amount} but its entries sum to {total}"
        )

    held = (
        select(PointsLot.member_id, func.sum(PointsLot.remaining).label("held"))
        .group_by(PointsLot.member_id)
        .subquery()
    )
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
    ):
        report.problems.append(
            f"member {member_no}: points balance {balance} but lots hold {in_lots}"
        )

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
    for entry_id, after, expected in session.execute(
        select(running.c.id, running.c.balance_after, running.c.running)
        .where(running.c.balance_after != running.c.running)
        .limit(limit)
    ):
        report.problems.append(
            f"entry {entry_id}: balance_after {after} but the running sum is {expected}"
        )

    for member_no, asset, balance in session.execute(
        select(Member.member_no, Account.asset, Account.balance)
        .join(Member, Member.id == Account.member_id)
        .where(
            Account.code == AccountCode.member,
            Account.asset.in_([Asset.wallet_principal, Asset.wallet_bonus]),
            Account.balance < 0,
        )
        .limit(limit)
    ):
        report.problems.append(f"member {member_no}: {asset} is {balance}, below zero")

    for asset, debts in ((Asset.points, report.debts), (Asset.growth, report.growth_debts)):
        for member_no, balance in session.execute(
            select(Member.member_no, Account.balance)
            .join(Member, Member.id == Account.member_id)
            .where(Account.code == AccountCode.member, Account.asset == asset, Account.balance < 0)
            .order_by(Account.balance, Member.member_no)
            .limit(limit)
        ):
            debts.append((member_no, -balance))
    return report
