"""Reconciliation: prove the ledger's promises from the entries themselves."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from memberkit.ledger import queries
from memberkit.ledger.models import Asset


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
    report.transactions = queries.transaction_count(session)
    for txn, asset, total in queries.unbalanced_transactions(session, limit=limit):
        report.problems.append(f"transaction {txn}: {asset} entries sum to {total}, not 0")

    report.accounts = queries.member_account_count(session)
    for account_id, member_no, asset, balance, total in queries.accounts_off_entries(
        session, limit=limit
    ):
        report.problems.append(
            f"account {account_id} ({member_no} {asset}): balance {balance}, "
            f"but entries sum to {total}"
        )

    report.lots = queries.lot_count(session)
    for lot_id, remaining, amount, total in queries.lots_off_entries(session, limit=limit):
        report.problems.append(
            f"lot {lot_id}: remaining {remaining} of {amount} but its entries sum to {total}"
        )

    for member_no, balance, in_lots in queries.points_off_lots(session, limit=limit):
        report.problems.append(
            f"member {member_no}: points balance {balance} but lots hold {in_lots}"
        )

    for entry_id, after, expected in queries.entries_off_running_sum(session, limit=limit):
        report.problems.append(
            f"entry {entry_id}: balance_after {after} but the running sum is {expected}"
        )

    for member_no, asset, balance in queries.wallets_below_zero(session, limit=limit):
        report.problems.append(f"member {member_no}: {asset} is {balance}, below zero")

    for asset, debts in ((Asset.points, report.debts), (Asset.growth, report.growth_debts)):
        for member_no, balance in queries.members_below_zero(session, asset=asset, limit=limit):
            debts.append((member_no, -balance))
    return report
