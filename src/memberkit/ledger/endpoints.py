"""REST endpoints of a member's points: balance, expiring lots, statement, adjustments."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from memberkit.api.context import (
    AdminContext,
    IdempotencyKey,
    MemberNo,
    MissingIdempotencyKey,
    ReadContext,
)
from memberkit.kit import keys
from memberkit.kit.schemas import Page, PageNumber, PageSize, QueryDate
from memberkit.kit.time import start_of_local_day, utcnow
from memberkit.ledger import adjustments, liability, queries, repository
from memberkit.ledger.models import Asset, TransactionKind
from memberkit.ledger.schemas import (
    AdjustmentIn,
    AdjustmentOut,
    ExpiringList,
    ExpiringMember,
    LiabilityOut,
    LiabilityReport,
    LotOut,
    PointsOut,
    Statement,
    StatementLine,
)
from memberkit.member import service as member_service

router = APIRouter(prefix="/api/v1/members/{member_no}", tags=["points"])
program_router = APIRouter(prefix="/api/v1/points", tags=["points"])
liability_router = APIRouter(prefix="/api/v1/liability", tags=["reports"])


@router.get("/points", response_model=PointsOut)
def get_points(
    member_no: MemberNo,
    context: ReadContext,
    expiring_within_days: Annotated[int, Query(ge=0, le=3650)] = 30,
) -> PointsOut:
    """Return the balance, any debt, and the open lots by expiry.

    ``expiring_points`` is what expires within ``expiring_within_days``.
    """
    with context.transaction() as session:
        member = member_service.find(session, program_id=context.program.id, member_no=member_no)
        now = utcnow()
        view = queries.points(
            session,
            member_id=member.id,
            now=now,
            horizon=now + timedelta(days=expiring_within_days),
        )
    return PointsOut(
        member_no=member.member_no,
        balance=view.balance,
        debt=view.debt,
        expiring_within_days=expiring_within_days,
        expiring_points=view.expiring_within,
        lots=[LotOut(**vars(lot)) for lot in view.lots],
    )


@router.get("/ledger", response_model=Statement)
def get_ledger(
    member_no: MemberNo,
    context: ReadContext,
    asset: Asset = Asset.points,
    kind: Annotated[list[TransactionKind] | None, Query()] = None,
    date_from: Annotated[QueryDate | None, Query(alias="from")] = None,
    date_to: Annotated[QueryDate | None, Query(alias="to")] = None,
    page: Annotated[PageNumber, Query()] = 1,
    page_size: Annotated[PageSize, Query()] = 50,
) -> Statement:
    """Return the member's history of one asset, newest first, with the running balance.

    ``from`` and ``to`` are dates in the program's timezone, both inclusive.
    """
    with context.transaction() as session:
        member = member_service.find(session, program_id=context.program.id, member_no=member_no)
        total, rows = repository.statement(
            session,
            member_id=member.id,
            asset=asset,
            kinds=[str(k) for k in kind] if kind else None,
            since=start_of_local_day(date_from, context.program.tz) if date_from else None,
            until=start_of_local_day(date_to + timedelta(days=1), context.program.tz)
            if date_to
            else None,
            offset=(page - 1) * page_size,
            limit=page_size,
        )
    return Statement(
        member_no=member.member_no,
        asset=asset,
        items=[
            StatementLine(
                transaction_id=str(row.transaction_id),
                kind=TransactionKind(row.kind),
                amount=row.amount,
                balance_after=row.balance_after,
                reason=row.reason,
                actor=row.actor,
                order_id=str(row.order_id) if row.order_id else None,
                refund_id=str(row.refund_id) if row.refund_id else None,
                occurred_at=row.occurred_at,
                expires_at=row.lot_expires_at,
            )
            for row in rows
        ],
        page=Page(page=page, page_size=page_size, total=total),
    )


@router.post("/points/adjustments", status_code=201, response_model=AdjustmentOut)
def adjust_points(
    member_no: MemberNo,
    body: AdjustmentIn,
    context: AdminContext,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Credit or debit points by hand (admin keys), with a reason.

    Needs an ``Idempotency-Key`` header; the acting key's name is recorded. A debit never takes
    the balance below zero.
    """
    if not idempotency_key:
        raise MissingIdempotencyKey()
    key = keys.adjustment(member_no, idempotency_key)

    def action(session: Session) -> AdjustmentOut:
        adjusted = adjustments.adjust_by_hand(
            session,
            program=context.program,
            member_no=member_no,
            points=body.points,
            reason=body.reason,
            actor=context.principal.actor,
            key=key,
            now=utcnow(),
        )
        return AdjustmentOut(
            transaction_id=str(adjusted.transaction_id),
            member_no=adjusted.member_no,
            points=adjusted.points,
            points_balance=adjusted.points_balance,
        )

    return context.idempotent(key=key, payload=body, action=action)


@program_router.get("/expiring", response_model=ExpiringList)
def list_expiring(
    context: ReadContext,
    within_days: Annotated[int, Query(ge=0, le=3650)] = 30,
    page: Annotated[PageNumber, Query()] = 1,
    page_size: Annotated[PageSize, Query()] = 50,
) -> ExpiringList:
    """List members whose points expire within ``within_days`` (e.g. for reminders)."""
    with context.transaction() as session:
        now = utcnow()
        members, points, rows = queries.expiring(
            session,
            program_id=context.program.id,
            now=now,
            horizon=now + timedelta(days=within_days),
            offset=(page - 1) * page_size,
            limit=page_size,
        )
    return ExpiringList(
        within_days=within_days,
        members=members,
        points=points,
        items=[ExpiringMember(**vars(row)) for row in rows],
        page=Page(page=page, page_size=page_size, total=members),
    )


@liability_router.get("", response_model=LiabilityReport)
def get_liability(
    context: ReadContext, on: Annotated[QueryDate | None, Query()] = None
) -> LiabilityReport:
    """Return what the program owes its members at the end of day ``on`` (default today).

    Points in live lots (and their value in money at the program's rate), points members owe,
    points expiring within 30, 60 and 90 days, and stored value with principal and bonus
    apart — by the members' home store (``null``: members without one) and in total. Every
    figure is a sum of the ledger's entries dated before the day's end in the program's
    timezone, so a past day shows what was owed then; a lot past its expiry counts nowhere,
    whether or not the expiry job ran. A store-bound key sees its store's members only.
    """
    store = context.principal.store_code
    with context.transaction() as session:
        report = liability.report(
            session, program=context.program, on=on, stores=None if store is None else [store]
        )
    return LiabilityReport(
        on=report.on,
        at=report.at,
        points_per_currency_unit=report.points_per_currency_unit,
        total=_liability_out(report, report.total),
        stores=[_liability_out(report, row) for row in report.stores],
    )


def _liability_out(report: liability.Liability, row: queries.StoreLiability) -> LiabilityOut:
    return LiabilityOut(
        store_code=row.store_code,
        points=row.points,
        points_value=report.value_minor(row.points),
        points_debt=row.points_debt,
        expiring={str(days): points for days, points in row.expiring.items()},
        wallet_principal=row.wallet_principal,
        wallet_bonus=row.wallet_bonus,
        wallet_total=row.wallet_principal + row.wallet_bonus,
    )
