"""Posting to the ledger. Callers hold the member's lock (see ``member.repository.lock``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from memberkit import events
from memberkit.errors import Conflict, InvalidInput
from memberkit.kit import keys
from memberkit.kit.i18n import _
from memberkit.kit.money import display_money
from memberkit.kit.time import iso
from memberkit.ledger import repository
from memberkit.ledger.models import AccountCode, Asset, TransactionKind
from memberkit.ledger.posting import consume, settle_debt


class InsufficientPoints(Conflict):
    """A spend larger than the member's balance."""

    code = "insufficient_points"
    message = _("Not enough points: {needed} needed, {balance} available.")
    in_debt = _("Not enough points: {needed} needed, 0 available (the member owes {debt} points).")

    @classmethod
    def short_of(cls, *, needed: int, balance: int) -> InsufficientPoints:
        """Refuse a spend of ``needed``; a member in debt has 0 available, and owes the rest."""
        if balance < 0:
            return cls(cls.in_debt, needed=needed, balance=0, debt=-balance)
        return cls(needed=needed, balance=balance)


class InsufficientWallet(Conflict):
    """A stored-value payment larger than the wallet holds."""

    code = "insufficient_wallet"
    message = _("Not enough stored value: {needed} needed, {balance} available.")


@dataclass
class Posting:
    """One balanced ledger transaction being written for one member.

    Each method changes the member's cached balance with one conditional statement and queues
    the entries; :meth:`finish` writes them in one multi-row insert.
    """

    session: Session
    program_id: int
    member_id: int
    transaction_id: int
    entries: list[dict[str, Any]] = field(default_factory=list)
    balances: dict[str, int] = field(default_factory=dict)

    @classmethod
    def open(
        cls,
        session: Session,
        *,
        program_id: int,
        member_id: int,
        kind: str,
        key: str,
        occurred_at: datetime,
        reason: str | None = None,
        actor: str | None = None,
        order_id: int | None = None,
        refund_id: int | None = None,
    ) -> Posting:
        """Insert the transaction row; the key's uniqueness makes a repeat fail here."""
        transaction_id = repository.insert_transaction(
            session,
            program_id=program_id,
            member_id=member_id,
            kind=kind,
            idempotency_key=key,
            reason=reason,
            actor=actor,
            order_id=order_id,
            refund_id=refund_id,
            occurred_at=occurred_at,
        )
        return cls(session, program_id, member_id, transaction_id)

    def _system(self, asset: str, code: str) -> int:
        return repository.system_account_id(
            self.session, program_id=self.program_id, asset=asset, code=code
        )

    def _entry(
        self,
        account_id: int,
        asset: str,
        amount: int,
        *,
        lot_id: int | None = None,
        balance_after: int | None = None,
    ) -> None:
        self.entries.append(
            {
                "transaction_id": self.transaction_id,
                "account_id": account_id,
                "asset": asset,
                "amount": amount,
                "lot_id": lot_id,
                "balance_after": balance_after,
            }
        )

    def credit_points(
        self,
        points: int,
        *,
        counterpart: str,
        earned_at: datetime,
        expires_at: datetime | None,
        settle: bool = True,
        source_lot_id: int | None = None,
    ) -> int:
        """Credit points as a new lot, paying off any debt first; returns the new balance.

        ``settle`` False puts all of it in the lot: points returned already past their expiry
        must not pay off a debt, they are expired at once. ``source_lot_id`` names the lot
        whose points these are again (returned by a refund): the new lot continues it.
        """
        if points <= 0:
            return self.balances.get(Asset.points, 0)
        changed = repository.change_balance(
            self.session, member_id=self.member_id, asset=Asset.points, amount=points
        )
        assert changed is not None
        account_id, balance = changed
        settled, lotted = settle_debt(balance - points, points) if settle else (0, points)
        if settled:
            self._entry(account_id, Asset.points, settled, balance_after=balance - lotted)
        if lotted:
            lot_id = repository.insert_lot(
                self.session,
                program_id=self.program_id,
                member_id=self.member_id,
                transaction_id=self.transaction_id,
                amount=points,
                remaining=lotted,
                earned_at=earned_at,
                expires_at=expires_at,
                source_lot_id=source_lot_id,
            )
            self._entry(account_id, Asset.points, lotted, lot_id=lot_id, balance_after=balance)
        self._entry(self._system(Asset.points, counterpart), Asset.points, -points)
        self.balances[Asset.points] = balance
        return balance

    def debit_points(
        self,
        points: int,
        *,
        counterpart: str,
        as_of: datetime,
        allow_debt: bool = False,
        first_lots: frozenset[int] = frozenset(),
    ) -> int:
        """Debit points from lots, earliest expiry first; returns the new balance.

        Lots past their expiry at ``as_of`` (the moment of processing) are expired first, so
        no debit depends on whether the expiry job has run. A spend (``allow_debt`` False) is
        refused with :class:`InsufficientPoints` when the balance is short, decided by the
        conditional UPDATE itself. A claw-back may leave the balance negative: the uncovered
        part is an entry without a lot (the member's debt).
        """
        if points <= 0:
            return self.balances.get(Asset.points, 0)
        expire_due(self.session, program_id=self.program_id, member_id=self.member_id, as_of=as_of)
        changed = repository.change_balance(
            self.session,
            member_id=self.member_id,
            asset=Asset.points,
            amount=-points,
            floor=None if allow_debt else 0,
        )
        if changed is None:
            balances = repository.member_balances(self.session, member_id=self.member_id)
            raise InsufficientPoints.short_of(needed=points, balance=balances.get(Asset.points, 0))
        account_id, balance = changed
        takes = consume(
            repository.open_lots(self.session, member_id=self.member_id), points, first=first_lots
        )
        if not allow_debt and any(take.lot_id is None for take in takes):
            raise RuntimeError("lots do not cover a balance that was sufficient")
        repository.take_from_lots(
            self.session, [(t.lot_id, t.points) for t in takes if t.lot_id is not None]
        )
        running = balance + points
        for take in takes:
            running -= take.points
            self._entry(
                account_id, Asset.points, -take.points, lot_id=take.lot_id, balance_after=running
            )
        self._entry(self._system(Asset.points, counterpart), Asset.points, points)
        self.balances[Asset.points] = balance
        return balance

    def expire_lot(self, lot_id: int, points: int) -> int:
        """Move what is left of one lot to the expired account; returns the new balance."""
        changed = repository.change_balance(
            self.session, member_id=self.member_id, asset=Asset.points, amount=-points
        )
        assert changed is not None
        account_id, balance = changed
        repository.take_from_lots(self.session, [(lot_id, points)])
        self._entry(account_id, Asset.points, -points, lot_id=lot_id, balance_after=balance)
        self._entry(self._system(Asset.points, AccountCode.expired), Asset.points, points)
        self.balances[Asset.points] = balance
        return balance

    def change_growth(self, amount: int, *, counterpart: str) -> int:
        """Add (or with a negative amount, remove) growth value; returns the new balance."""
        balance = self._change(Asset.growth, amount, counterpart=counterpart)
        assert balance is not None
        return balance

    def change_wallet(self, principal: int, bonus: int, *, counterpart: str) -> None:
        """Add to (positive) or take from (negative) the wallet's principal and bonus.

        Neither part may go below zero: a debit the balance does not cover raises
        :class:`InsufficientWallet`, decided by the conditional UPDATE itself.
        """
        for asset, amount in ((Asset.wallet_principal, principal), (Asset.wallet_bonus, bonus)):
            if self._change(asset, amount, counterpart=counterpart, floor=0) is None:
                held = repository.member_balances(self.session, member_id=self.member_id)
                raise InsufficientWallet(
                    needed=display_money(-(principal + bonus)),
                    balance=display_money(
                        held.get(Asset.wallet_principal, 0) + held.get(Asset.wallet_bonus, 0)
                    ),
                )

    def _change(
        self, asset: str, amount: int, *, counterpart: str, floor: int | None = None
    ) -> int | None:
        """Change a balance without lots; returns it, or None when ``floor`` refused it."""
        if amount == 0:
            return self.balances.get(asset, 0)
        changed = repository.change_balance(
            self.session, member_id=self.member_id, asset=asset, amount=amount, floor=floor
        )
        if changed is None:
            return None
        account_id, balance = changed
        self._entry(account_id, asset, amount, balance_after=balance)
        self._entry(self._system(asset, counterpart), asset, -amount)
        self.balances[asset] = balance
        return balance

    def finish(self) -> None:
        """Write the queued entries."""
        repository.insert_entries(self.session, self.entries)
        self.entries = []


def expire_due(session: Session, *, program_id: int, member_id: int, as_of: datetime) -> int:
    """Expire the member's lots past their expiry at ``as_of``; the caller holds the lock.

    Each lot is its own transaction keyed ``expire:<lot id>`` and dated at the lot's expiry, so
    neither a repeated run nor the moment it runs changes what it records. Every path that
    posts to a member calls this first; returns the points expired.
    """
    expired = 0
    lots: list[dict[str, Any]] = []
    latest = as_of
    balance = 0
    for lot_id, remaining, expires_at in repository.due_lots(
        session, as_of=as_of, member_id=member_id
    ):
        posting = Posting.open(
            session,
            program_id=program_id,
            member_id=member_id,
            kind=TransactionKind.expire,
            key=keys.expiry(lot_id),
            occurred_at=expires_at,
            reason="points expired",
        )
        posting.expire_lot(lot_id, remaining)
        posting.finish()
        expired += remaining
        lots.append({"points": remaining, "expires_at": iso(expires_at)})
        latest, balance = expires_at, posting.balances.get(Asset.points, balance)
    if lots:
        events.emit(
            session,
            program_id=program_id,
            type=events.EventType.points_expired,
            member_id=member_id,
            occurred_at=latest,
            payload={"points": expired, "lots": lots, "points_balance": balance},
        )
    return expired


class ZeroAdjustment(InvalidInput):
    """An adjustment that would change nothing."""

    code = "invalid_input"
    message = _("An adjustment of zero points changes nothing.")


def adjust(
    session: Session,
    *,
    program_id: int,
    member_id: int,
    points: int,
    reason: str,
    actor: str,
    key: str,
    occurred_at: datetime,
    expires_at: datetime | None,
    as_of: datetime | None = None,
) -> Posting:
    """Post a manual credit (points > 0, as a lot expiring at ``expires_at``) or debit.

    A debit never takes the balance below zero and first expires what is due at ``as_of``
    (default: ``occurred_at``). The caller holds the member's lock.
    """
    posting = Posting.open(
        session,
        program_id=program_id,
        member_id=member_id,
        kind=TransactionKind.adjust,
        key=key,
        occurred_at=occurred_at,
        reason=reason,
        actor=actor,
    )
    if points > 0:
        posting.credit_points(
            points, counterpart=AccountCode.adjusted, earned_at=occurred_at, expires_at=expires_at
        )
    else:
        posting.debit_points(-points, counterpart=AccountCode.adjusted, as_of=as_of or occurred_at)
    posting.finish()
    return posting


class AdjustmentExists(Conflict):
    """An adjustment's key was posted already (its idempotency record since purged)."""

    code = "adjustment_exists"
    message = _("Adjustment {key} of member {member_no} was made already; see the statement.")
