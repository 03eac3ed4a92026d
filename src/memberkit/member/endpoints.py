"""REST endpoints of members."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from memberkit.api.context import IdempotencyKey, MemberNo, PosContext, ReadContext
from memberkit.auth.models import Scope
from memberkit.kit.i18n import Text, _
from memberkit.kit.schemas import Input, LocalTime, MoneyOut
from memberkit.member import service
from memberkit.member.models import MemberStatus
from memberkit.member.schemas import Gender, MemberIn, Tag

router = APIRouter(prefix="/api/v1/members", tags=["members"])


class MemberPatch(Input):
    """Changes to a member; only the fields present change. ``status`` needs an admin key."""

    phone: str | None = Field(default=None, max_length=20)
    name: str | None = Field(default=None, max_length=50)
    gender: Gender | None = None
    birthday: date | None = None
    email: str | None = Field(default=None, max_length=254)
    tags: list[Tag] | None = Field(default=None, max_length=50)
    status: MemberStatus | None = None


class MemberOut(BaseModel):
    """A member as the API shows one."""

    member_no: str
    status: MemberStatus
    phone: str
    name: str | None
    gender: str | None
    birthday: date | None
    email: str | None
    store_code: str | None
    channel: str
    referrer_member_no: str | None
    tags: list[str]
    points_balance: int
    growth_balance: int
    wallet_balance: MoneyOut
    created_at: LocalTime


class QrTokenOut(BaseModel):
    """A fresh card QR token."""

    member_no: str
    qr_token: str
    expires_at: LocalTime


def _out(view: service.MemberView) -> MemberOut:
    return MemberOut(**{**vars(view), "status": MemberStatus(view.status)})


@router.post("", status_code=201, response_model=MemberOut)
def register_member(
    body: MemberIn, context: PosContext, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    """Register a member.

    With an ``Idempotency-Key`` a repeat returns the first response (200); without one, a second
    registration of the same phone is a 409 ``member_exists``.
    """
    store_code = context.principal.store_for(body.store_code)

    def action(session: Session) -> MemberOut:
        member = service.register(
            session,
            program_id=context.program.id,
            phone=body.phone,
            name=body.name,
            gender=body.gender,
            birthday=body.birthday,
            email=body.email,
            store_code=store_code,
            channel=body.channel,
            referrer_member_no=body.referrer_member_no,
            tags=body.tags,
        )
        return _out(service.view(session, member))

    if idempotency_key:
        return context.idempotent(key=f"member:{idempotency_key}", payload=body, action=action)
    with context.transaction() as session:
        out = action(session)
    return JSONResponse(out.model_dump(mode="json"), status_code=201)


@router.get("", response_model=MemberOut)
def find_member(
    context: ReadContext,
    phone: Annotated[str | None, Query(max_length=20)] = None,
    qr_token: Annotated[str | None, Query(max_length=100)] = None,
) -> MemberOut:
    """Find one member by phone number or by the QR token shown on the member's card."""
    if (phone is None) == (qr_token is None):
        raise service.InvalidMember(problem=Text(_("give exactly one of phone, qr_token")))
    with context.transaction() as session:
        member = service.find(
            session, program_id=context.program.id, phone=phone, qr_token=qr_token
        )
        return _out(service.view(session, member))


@router.get("/{member_no}", response_model=MemberOut)
def get_member(member_no: MemberNo, context: ReadContext) -> MemberOut:
    """Return one member by card number."""
    with context.transaction() as session:
        member = service.find(session, program_id=context.program.id, member_no=member_no)
        return _out(service.view(session, member))


@router.patch("/{member_no}", response_model=MemberOut)
def change_member(member_no: MemberNo, body: MemberPatch, context: PosContext) -> MemberOut:
    """Change a member's profile, tags or (admin keys only) status.

    Setting the same values again changes nothing, so a repeat is harmless.
    """
    changes = body.model_dump(exclude_unset=True)
    if "status" in changes:
        context.principal.require(Scope.admin)
    for required in ("phone", "status", "tags"):
        if required in changes and changes[required] is None:
            raise service.InvalidMember(
                problem=Text(_("{required} cannot be empty"), required=required)
            )
    with context.transaction() as session:
        member = service.find(
            session, program_id=context.program.id, member_no=member_no, lock=True
        )
        service.change(session, member=member, changes=changes)
        return _out(service.view(session, member))


@router.post("/{member_no}/qr-token", response_model=QrTokenOut)
def rotate_qr_token(member_no: MemberNo, context: PosContext) -> QrTokenOut:
    """Issue a new short-lived QR token for the member's card; the previous one stops working."""
    with context.transaction() as session:
        member = service.find(
            session, program_id=context.program.id, member_no=member_no, lock=True
        )
        token, expires_at = service.rotate_qr(session, member=member)
        return QrTokenOut(member_no=member.member_no, qr_token=token, expires_at=expires_at)


__all__ = ["datetime", "router"]
