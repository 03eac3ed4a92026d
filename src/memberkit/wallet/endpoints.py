"""REST endpoints of stored value: recharges, a member's wallet, the program's wallet rules."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from memberkit.api.context import ChainAdminContext, MemberNo, PosContext, ReadContext
from memberkit.kit import keys
from memberkit.member.schemas import TierOut
from memberkit.program import service as program_service
from memberkit.wallet import service
from memberkit.wallet.schemas import (
    MemberWalletOut,
    RechargeIn,
    RechargeLineOut,
    RechargeOut,
    WalletOut,
    WalletRefundIn,
    WalletRefundOut,
)
from memberkit.wallet.settings import WalletRulesIn

router = APIRouter(prefix="/api/v1", tags=["wallet"])

#: A recharge named in a path: its external id.
RechargeId = Annotated[str, Path(min_length=1, max_length=100)]


@router.post(
    "/members/{member_no}/wallet/recharges",
    status_code=201,
    response_model=RechargeOut,
    responses={200: {"description": "A repeat of a recharge already taken"}},
)
def recharge(member_no: MemberNo, body: RechargeIn, context: PosContext) -> JSONResponse:
    """Recharge a member's wallet; the bonus comes from the program's steps.

    Idempotent by ``external_id``: the same recharge again returns the first response with 200,
    the same id with different content is a 409 ``idempotency_conflict``. A recharge past the
    wallet's limit is refused (409 ``wallet_limit_exceeded``). A recharge that meets a tier's
    recharge condition upgrades the member at once (``tier.upgraded``).
    """
    store_code = context.principal.store_for(body.store_code)

    def action(session: Session) -> RechargeOut:
        result = service.recharge(
            session,
            program=context.program,
            member_no=member_no,
            external_id=body.external_id,
            amount_minor=body.amount,
            method=body.method,
            store_code=store_code,
            occurred_at=body.occurred_at,
        )
        return RechargeOut(
            external_id=result.external_id,
            member_no=result.member_no,
            amount=result.amount_minor,
            bonus=result.bonus_minor,
            occurred_at=result.occurred_at,
            wallet=WalletOut.of(result.wallet),
            tier=TierOut.of(result.tier),
        )

    return context.idempotent(
        key=keys.recharge(body.external_id), payload=body, action=action, subject=member_no
    )


@router.get("/members/{member_no}/wallet", response_model=MemberWalletOut)
def get_wallet(member_no: MemberNo, context: ReadContext) -> MemberWalletOut:
    """Return a member's wallet (principal, bonus, total) and what they have recharged in all.

    The wallet's postings are in ``GET /api/v1/members/{member_no}/ledger?asset=wallet_principal``
    (or ``wallet_bonus``).
    """
    with context.transaction() as session:
        view = service.view(session, program_id=context.program.id, member_no=member_no)
    return MemberWalletOut(
        member_no=view.member_no,
        wallet=WalletOut.of(view.wallet),
        recharged=view.recharged_minor,
        bonus_received=view.bonus_received_minor,
        recharges=view.recharges,
        refunded=view.refunded_minor,
    )


@router.get("/members/{member_no}/wallet/recharges", response_model=list[RechargeLineOut])
def list_recharges(member_no: MemberNo, context: ReadContext) -> list[RechargeLineOut]:
    """Return the member's latest 50 recharges, newest first, each with what is refundable now.

    ``refundable`` is zero once the program's refund window has passed (unless it has
    stopped serving), and never more than the principal the wallet holds.
    """
    with context.transaction() as session:
        lines = service.recharges(session, program=context.program, member_no=member_no)
    return [
        RechargeLineOut(
            external_id=line.external_id,
            method=line.method,
            store_code=line.store_code,
            amount=line.amount_minor,
            bonus=line.bonus_minor,
            refunded=line.refunded_minor,
            bonus_forfeited=line.bonus_forfeited_minor,
            refundable=line.refundable_minor,
            occurred_at=line.occurred_at,
        )
        for line in lines
    ]


@router.post(
    "/members/{member_no}/wallet/recharges/{recharge_id}/refunds",
    status_code=201,
    response_model=WalletRefundOut,
    responses={200: {"description": "A repeat of a refund already paid"}},
)
def refund_recharge(
    member_no: MemberNo, recharge_id: RechargeId, body: WalletRefundIn, context: PosContext
) -> JSONResponse:
    """Pay back unspent principal of a recharge (储值退款); its bonus is forfeited in proportion.

    Within the program's ``refund_days`` of the recharge, or always once the program has
    ``stopped_serving`` (409 ``recharge_refund_closed``). At most what the recharge paid in,
    less earlier refunds of it, and never more than the principal the wallet holds (409
    ``recharge_refund_exceeds``, or ``recharge_nothing_refundable``). A store-bound key refunds
    only recharges taken at its store, and a ``store_code`` an unbound key names must be the
    recharge's store (403 ``store_mismatch``). Idempotent by ``external_id``:
    the same refund again returns the first response with 200.
    """
    # A store-bound key refunds at its own store only; what it names must be that store. A
    # store an unbound key names is checked the same way: it pays back only what it took.
    store_code = context.principal.store_for(body.store_code)

    def action(session: Session) -> WalletRefundOut:
        result = service.refund_recharge(
            session,
            program=context.program,
            member_no=member_no,
            recharge_external_id=recharge_id,
            external_id=body.external_id,
            amount_minor=body.amount,
            method=body.method,
            reason=body.reason,
            store_code=store_code,
            occurred_at=body.occurred_at,
        )
        return WalletRefundOut(
            external_id=result.external_id,
            recharge_external_id=result.recharge_external_id,
            member_no=result.member_no,
            amount=result.amount_minor,
            bonus_forfeited=result.bonus_forfeited_minor,
            method=result.method,
            occurred_at=result.occurred_at,
            wallet=WalletOut.of(result.wallet),
        )

    return context.idempotent(
        key=keys.wallet_refund(body.external_id),
        payload=body,
        action=action,
        # The recharge is part of what is asked: the same id for another recharge conflicts.
        subject=f"{member_no}/{recharge_id}",
    )


@router.get("/wallet/rules")
def get_wallet_rules(context: ReadContext) -> dict[str, Any]:
    """Return the recharge bonus steps and the wallet limit."""
    return context.program.raw_wallet


@router.put("/wallet/rules")
def set_wallet_rules(body: WalletRulesIn, context: ChainAdminContext) -> dict[str, Any]:
    """Replace the wallet rules (admin keys); invalid rules are refused and change nothing."""
    with context.transaction() as session:
        config = program_service.configure(
            session, program=context.program, wallet_rules=body.model_dump()
        )
    return config.raw_wallet
