"""Stored value (储值): recharging a member's wallet, and reading it.

Paying with the wallet is a payment of method ``wallet`` on an order (see
``order.service.post_order``); refunds of such orders return it in the same split.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from memberkit import events, pipeline
from memberkit.errors import Conflict, Forbidden, InvalidInput, NotFound
from memberkit.kit import keys
from memberkit.kit.i18n import Text, _
from memberkit.kit.money import display_money, format_money
from memberkit.kit.time import Timing, utcnow
from memberkit.ledger.models import AccountCode, Asset, TransactionKind
from memberkit.ledger.repository import member_balances
from memberkit.ledger.service import Posting
from memberkit.member import service as member_service
from memberkit.member.models import Member
from memberkit.member.service import MemberRef, TierOutcome
from memberkit.pipeline import Applied, EventKind, Requires
from memberkit.program.service import ProgramConfig
from memberkit.store import service as store_service
from memberkit.wallet import queries, repository, rules
from memberkit.wallet.models import RechargeMethod

#: Methods that pay money into a wallet.
RECHARGE_METHODS = frozenset(RechargeMethod)


class InvalidRecharge(InvalidInput):
    """A recharge that cannot be taken."""

    code = "invalid_recharge"
    message = _("Invalid recharge: {problem}")


class WalletFull(Conflict):
    """A recharge that would take the wallet past the program's cap."""

    code = "wallet_limit_exceeded"
    message = _(
        "This recharge would take the wallet to {total}, over the limit of {limit}. "
        "The largest recharge accepted now is {largest} (with its bonus of {bonus})."
    )
    full = _(
        "This recharge would take the wallet to {total}, over the limit of {limit}. "
        "The wallet is full: no recharge is accepted now."
    )


class StoppedServing(Conflict):
    """The program has stopped serving: it takes no more prepaid money."""

    code = "wallet_stopped_serving"
    message = _(
        "The program has stopped serving: it takes no more recharges; what members hold is "
        "refundable."
    )


class RechargeExists(Conflict):
    """The external id was used for a recharge already."""

    code = "recharge_exists"
    message = _("A recharge with external id {external_id} already exists.")


@dataclass(frozen=True)
class WalletBalance:
    """A wallet's two parts, minor units."""

    principal: int
    bonus: int

    @property
    def total(self) -> int:
        """What the member may spend."""
        return self.principal + self.bonus


@dataclass(frozen=True)
class RechargeResult:
    """What a recharge did, and the wallet and tier after it."""

    external_id: str
    member_no: str
    amount_minor: int
    bonus_minor: int
    occurred_at: datetime
    wallet: WalletBalance
    tier: TierOutcome


def balance(session: Session, *, member_id: int) -> WalletBalance:
    """Return the member's wallet."""
    held = member_balances(session, member_id=member_id)
    return WalletBalance(held.get(Asset.wallet_principal, 0), held.get(Asset.wallet_bonus, 0))


def recharge(
    session: Session,
    *,
    program: ProgramConfig,
    member_no: str,
    external_id: str,
    amount_minor: int,
    method: str,
    store_code: str | None,
    occurred_at: datetime,
    timing: Timing | None = None,
) -> RechargeResult:
    """Pay ``amount_minor`` into the member's wallet, with the bonus the program's steps give.

    One ledger posting credits principal and bonus; the wallet may not pass the program's
    cap. A recharge counts for tier conditions on recharges and upgrades at once when it
    qualifies. The caller makes it idempotent by ``external_id``; a second recharge with the
    same id is refused.
    """
    if amount_minor <= 0:
        raise InvalidRecharge(problem=Text(_("the amount must be more than zero")))
    if method not in RECHARGE_METHODS:
        raise InvalidRecharge(
            problem=Text(
                _("pay a recharge by {methods}, not {method}"),
                methods=", ".join(sorted(RECHARGE_METHODS)),
                method=method,
            )
        )
    if program.wallet.stopped_serving:
        raise StoppedServing()
    timing = timing or Timing.live()
    timing.check(occurred_at, backdate_days=program.policies.backdate_days)

    def post(session: Session, applied: Applied) -> int:
        return _pay_in(
            session,
            applied,
            external_id=external_id,
            amount_minor=amount_minor,
            method=method,
            store_code=store_code,
        )

    def finish(session: Session, applied: Applied, bonus: int) -> RechargeResult:
        assert applied.tier is not None, "a recharge is judged for an upgrade (reactions)"
        result = RechargeResult(
            external_id=external_id,
            member_no=applied.member.member_no,
            amount_minor=amount_minor,
            bonus_minor=bonus,
            occurred_at=occurred_at,
            # The tier reaction read the balances after the recharge already.
            wallet=WalletBalance(
                applied.balance(session, Asset.wallet_principal),
                applied.balance(session, Asset.wallet_bonus),
            ),
            tier=applied.tier,
        )
        events.emit(
            session,
            program_id=program.id,
            type=events.EventType.wallet_recharged,
            member_id=applied.member.id,
            occurred_at=occurred_at,
            payload={
                "external_id": external_id,
                "amount": format_money(amount_minor),
                "bonus": format_money(bonus),
                "method": method,
                "store_code": store_code,
                "wallet": {
                    "principal": format_money(result.wallet.principal),
                    "bonus": format_money(result.wallet.bonus),
                    "total": format_money(result.wallet.total),
                },
                "tier": result.tier.code,
                "upgraded": result.tier.upgraded,
            },
        )
        return result

    _applied, result = pipeline.apply(
        session,
        program=program,
        kind=EventKind.recharge,
        key=keys.recharge(external_id),
        member=MemberRef(member_no=member_no),
        timing=timing,
        at=occurred_at,
        post=post,
        finish=finish,
    )
    return result


def _pay_in(
    session: Session,
    applied: Applied,
    *,
    external_id: str,
    amount_minor: int,
    method: str,
    store_code: str | None,
) -> int:
    """Record the recharge and post it to the locked member's wallet; return its bonus."""
    program, member, occurred_at = applied.program, applied.member, applied.at
    store_id = (
        store_service.active_store_id(session, program_id=program.id, code=store_code)
        if store_code
        else None
    )
    if repository.recharge_exists(session, program_id=program.id, external_id=external_id):
        raise RechargeExists(external_id=external_id)
    bonus = program.wallet.bonus_for(amount_minor)
    before = balance(session, member_id=member.id)
    room = program.wallet.room(before.principal, before.bonus)
    if amount_minor + bonus > room:
        largest = program.wallet.largest_recharge(room)
        raise WalletFull(
            None if largest else WalletFull.full,
            total=display_money(before.total + amount_minor + bonus),
            limit=display_money(program.wallet.max_balance_minor),
            largest=display_money(largest),
            bonus=display_money(program.wallet.bonus_for(largest)),
        )
    repository.insert_recharge(
        session,
        program_id=program.id,
        external_id=external_id,
        member_id=member.id,
        store_id=store_id,
        method=method,
        amount_minor=amount_minor,
        bonus_minor=bonus,
        occurred_at=occurred_at,
        created_at=utcnow(),
    )
    posting = Posting.open(
        session,
        program_id=program.id,
        member_id=member.id,
        kind=TransactionKind.recharge,
        key=keys.recharge(external_id),
        occurred_at=occurred_at,
        reason=method,
    )
    posting.change_wallet(amount_minor, bonus, counterpart=AccountCode.recharged)
    posting.finish()
    return bonus


@dataclass(frozen=True)
class WalletView:
    """A member's wallet with what they have recharged in all."""

    member_no: str
    wallet: WalletBalance
    recharged_minor: int
    bonus_received_minor: int
    recharges: int
    refunded_minor: int = 0


def view(session: Session, *, program_id: int, member_no: str) -> WalletView:
    """Return a member's wallet and the sum of their recharges."""
    member = member_service.find(session, program_id=program_id, member_no=member_no)
    recharged, bonus, count, refunded = queries.recharge_totals(session, member_id=member.id)
    return WalletView(
        member_no=member.member_no,
        wallet=balance(session, member_id=member.id),
        recharged_minor=recharged,
        bonus_received_minor=bonus,
        recharges=count,
        refunded_minor=refunded,
    )


@dataclass(frozen=True)
class RechargeLine:
    """A recharge as the wallet screen lists it, with what may be refunded of it now."""

    external_id: str
    method: str
    store_code: str | None
    amount_minor: int
    bonus_minor: int
    refunded_minor: int
    bonus_forfeited_minor: int
    occurred_at: datetime
    refundable_minor: int


def recharges(
    session: Session, *, program: ProgramConfig, member_no: str, now: datetime | None = None
) -> list[RechargeLine]:
    """Return the member's latest recharges and what each could be refunded of at ``now``."""
    member = member_service.find(session, program_id=program.id, member_no=member_no)
    held = balance(session, member_id=member.id)
    moment = now or utcnow()
    return [
        RechargeLine(
            external_id=found.external_id,
            method=found.method,
            store_code=store_code,
            amount_minor=found.amount_minor,
            bonus_minor=found.bonus_minor,
            refunded_minor=found.refunded_minor,
            bonus_forfeited_minor=found.bonus_forfeited_minor,
            occurred_at=found.occurred_at,
            refundable_minor=rules.refundable(
                amount=found.amount_minor,
                refunded=found.refunded_minor,
                principal_held=held.principal,
            )
            if program.wallet.refund_open(found.occurred_at, moment)
            else 0,
        )
        for found, store_code in queries.recharges_of(session, member_id=member.id)
    ]


class RechargeNotFound(NotFound):
    """No recharge of this member has that external id."""

    code = "recharge_not_found"
    message = _("Member {member_no} has no recharge with external id {external_id}.")


def recharge_store(
    session: Session, *, program: ProgramConfig, member: Member, external_id: str
) -> str | None:
    """Return the code of the store that took the member's recharge (None: taken online).

    Refuses a recharge the member does not have (404 ``recharge_not_found``), however old.
    """
    found = repository.recharge_of(
        session, program_id=program.id, member_id=member.id, external_id=external_id
    )
    if found is None:
        raise RechargeNotFound(member_no=member.member_no, external_id=external_id)
    return (
        None if found.store_id is None else store_service.code_of(session, store_id=found.store_id)
    )


class RefundClosed(Conflict):
    """The recharge is older than the program's refund window."""

    code = "recharge_refund_closed"
    message = _(
        "Recharge {external_id} of {occurred_at} can no longer be refunded: the program "
        "refunds a recharge within {days} days of it."
    )


class NothingRefundable(Conflict):
    """Nothing of the recharge's principal is left to pay back."""

    code = "recharge_nothing_refundable"
    message = _(
        "Nothing of recharge {external_id} is left to refund: its principal was refunded or spent."
    )


class RefundTooLarge(Conflict):
    """A refund of more than is refundable of the recharge."""

    code = "recharge_refund_exceeds"
    message = _("At most {refundable} of recharge {external_id} can be refunded, not {amount}.")


class WalletRefundExists(Conflict):
    """The external id was used for a refund of a recharge already."""

    code = "wallet_refund_exists"
    message = _("A refund of a recharge with external id {external_id} already exists.")


class RechargeOfAnotherStore(Forbidden):
    """A store-bound caller refunding a recharge taken elsewhere (or online)."""

    code = "store_mismatch"
    message = _("Recharge {external_id} was not taken at store {store_code}: refund it there.")


@dataclass(frozen=True)
class WalletRefundResult:
    """What a refund of a recharge paid back and forfeited, and the wallet after it."""

    external_id: str
    recharge_external_id: str
    member_no: str
    amount_minor: int
    bonus_forfeited_minor: int
    method: str
    occurred_at: datetime
    wallet: WalletBalance


def refund_recharge(
    session: Session,
    *,
    program: ProgramConfig,
    member_no: str,
    recharge_external_id: str,
    external_id: str,
    amount_minor: int | None,
    method: str | None,
    reason: str,
    store_code: str | None,
    occurred_at: datetime,
    timing: Timing | None = None,
) -> WalletRefundResult:
    """Pay back unspent principal of a recharge (储值退款), forfeiting its bonus in proportion.

    ``amount_minor`` None pays back all that is refundable: what the recharge paid in, less
    what was refunded of it, at most the principal the wallet holds. Only within the program's
    ``refund_days`` of the recharge, or at any time once it has ``stopped_serving``. The bonus
    forfeited is the recharge's bonus in proportion to the principal refunded (on the running
    total, so refunds in pieces forfeit what one would), at most the bonus the wallet holds.
    ``store_code`` is the store-bound caller's store: it refunds only recharges taken there.
    The money leaves by ``method`` (default: the way it came in). The caller makes it
    idempotent by ``external_id``; a second refund with the same id is refused. A frozen or
    closed member may still be paid back (closing a card ends in 退卡).
    """
    if amount_minor is not None and amount_minor <= 0:
        raise InvalidRecharge(problem=Text(_("the amount must be more than zero")))
    if method is not None and method not in RECHARGE_METHODS:
        raise InvalidRecharge(
            problem=Text(
                _("pay a refund back by {methods}, not {method}"),
                methods=", ".join(sorted(RECHARGE_METHODS)),
                method=method,
            )
        )
    timing = timing or Timing.live()
    timing.check(occurred_at, backdate_days=program.policies.backdate_days)

    def post(session: Session, applied: Applied) -> WalletRefundResult:
        member = applied.member
        if repository.refund_exists(session, program_id=program.id, external_id=external_id):
            raise WalletRefundExists(external_id=external_id)
        found = repository.recharge_of(
            session, program_id=program.id, member_id=member.id, external_id=recharge_external_id
        )
        if found is None:
            raise RechargeNotFound(member_no=member.member_no, external_id=recharge_external_id)
        store_id = (
            store_service.active_store_id(session, program_id=program.id, code=store_code)
            if store_code
            else None
        )
        if store_code is not None and found.store_id != store_id:
            raise RechargeOfAnotherStore(external_id=recharge_external_id, store_code=store_code)
        if applied.at < found.occurred_at:
            raise InvalidRecharge(problem=Text(_("a refund cannot be dated before its recharge")))
        # The window is judged at the real moment, so a back-dated refund cannot reopen it.
        if not program.wallet.refund_open(found.occurred_at, applied.now):
            raise RefundClosed(
                external_id=recharge_external_id,
                occurred_at=found.occurred_at.astimezone(program.tz).date().isoformat(),
                days=program.wallet.refund_days,
            )
        held = balance(session, member_id=member.id)
        most = rules.refundable(
            amount=found.amount_minor, refunded=found.refunded_minor, principal_held=held.principal
        )
        if most == 0:
            raise NothingRefundable(external_id=recharge_external_id)
        refunding = most if amount_minor is None else amount_minor
        if refunding > most:
            raise RefundTooLarge(
                external_id=recharge_external_id,
                refundable=display_money(most),
                amount=display_money(refunding),
            )
        back = rules.refund_of(
            amount=found.amount_minor,
            bonus=found.bonus_minor,
            refunded=found.refunded_minor,
            refunding=refunding,
            bonus_held=held.bonus,
        )
        paid_by = method or found.method
        if not repository.record_refund(
            session,
            recharge=found,
            external_id=external_id,
            store_id=store_id,
            method=paid_by,
            amount_minor=back.principal,
            bonus_forfeited_minor=back.bonus,
            reason=reason,
            occurred_at=applied.at,
            created_at=utcnow(),
        ):  # the member's lock serializes refunds: only a bug gets here
            raise NothingRefundable(external_id=recharge_external_id)
        posting = Posting.open(
            session,
            program_id=program.id,
            member_id=member.id,
            kind=TransactionKind.wallet_refund,
            key=keys.wallet_refund(external_id),
            occurred_at=applied.at,
            reason=paid_by,
        )
        posting.change_wallet(-back.principal, -back.bonus, counterpart=AccountCode.recharged)
        posting.finish()
        after = WalletBalance(held.principal - back.principal, held.bonus - back.bonus)
        events.emit(
            session,
            program_id=program.id,
            type=events.EventType.wallet_refunded,
            member_id=member.id,
            occurred_at=applied.at,
            payload={
                "external_id": external_id,
                "recharge_external_id": recharge_external_id,
                "amount": format_money(back.principal),
                "bonus_forfeited": format_money(back.bonus),
                "method": paid_by,
                "store_code": store_code,
                "wallet": {
                    "principal": format_money(after.principal),
                    "bonus": format_money(after.bonus),
                    "total": format_money(after.total),
                },
            },
        )
        return WalletRefundResult(
            external_id=external_id,
            recharge_external_id=recharge_external_id,
            member_no=member.member_no,
            amount_minor=back.principal,
            bonus_forfeited_minor=back.bonus,
            method=paid_by,
            occurred_at=applied.at,
            wallet=after,
        )

    _applied, result = pipeline.apply(
        session,
        program=program,
        kind=EventKind.wallet_refund,
        key=keys.wallet_refund(external_id),
        member=MemberRef(member_no=member_no),
        timing=timing,
        at=occurred_at,
        post=post,
        requires=Requires.any,
    )
    return result
