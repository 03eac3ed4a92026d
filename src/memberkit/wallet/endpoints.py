"""REST endpoints of stored value: recharges, a member's wallet, the program's wallet rules."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
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
    RechargeOut,
    WalletOut,
)
from memberkit.wallet.settings import WalletRulesIn

router = APIRouter(prefix="/api/v1", tags=["wallet"])


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
