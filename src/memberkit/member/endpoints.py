"""REST endpoints of members."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from memberkit.api.context import ApiContext, IdempotencyKey, MemberNo, PosContext, ReadContext
from memberkit.auth.models import Scope
from memberkit.kit import keys
from memberkit.kit.i18n import Text, _
from memberkit.member import service
from memberkit.member.models import MemberStatus
from memberkit.member.rules import mask_birthday, mask_phone
from memberkit.member.schemas import (
    MemberIn,
    MemberOut,
    MemberPatch,
    MemberSearch,
    QrTokenOut,
)

router = APIRouter(prefix="/api/v1/members", tags=["members"])


def _out(view: service.MemberView) -> MemberOut:
    birthday = view.birthday.isoformat() if view.birthday else None
    return MemberOut(**{**vars(view), "status": MemberStatus(view.status), "birthday": birthday})


def _shown(context: ApiContext, out: dict[str, Any]) -> dict[str, Any]:
    """Return a member's JSON as the caller may see it: masked unless the key is admin."""
    if context.principal.scope == Scope.admin:
        return out
    return {
        **out,
        "phone": mask_phone(out["phone"]),
        "birthday": mask_birthday(out["birthday"]),
    }


def _render(context: ApiContext, view: service.MemberView) -> JSONResponse:
    return JSONResponse(_shown(context, _out(view).model_dump(mode="json")))


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

    def present(out: dict[str, Any]) -> dict[str, Any]:
        return _shown(context, out)

    if idempotency_key:
        return context.idempotent(
            key=keys.member(idempotency_key), payload=body, action=action, present=present
        )
    with context.transaction() as session:
        out = action(session)
    return JSONResponse(present(out.model_dump(mode="json")), status_code=201)


def _search(context: ApiContext, *, phone: str | None, qr_token: str | None) -> JSONResponse:
    if (phone is None) == (qr_token is None):
        raise service.InvalidMember(problem=Text(_("give exactly one of phone, qr_token")))
    with context.transaction() as session:
        member = service.find(
            session, program_id=context.program.id, phone=phone, qr_token=qr_token
        )
        return _render(context, service.view(session, member))


@router.post("/search", response_model=MemberOut)
def search_member(body: MemberSearch, context: ReadContext) -> JSONResponse:
    """Find one member by phone number or by the QR token shown on the member's card.

    The preferred look-up: the phone number or token travels in the body, so it never lands in
    URLs, access logs or proxies' logs.
    """
    return _search(context, phone=body.phone, qr_token=body.qr_token)


@router.get("", response_model=MemberOut)
def find_member(
    context: ReadContext,
    phone: Annotated[str | None, Query(max_length=20)] = None,
    qr_token: Annotated[str | None, Query(max_length=100)] = None,
) -> JSONResponse:
    """Find one member by phone number or QR token in the query string.

    Kept for existing integrations; prefer ``POST /api/v1/members/search``, which keeps the
    phone number out of the URL (Memberkit's access log masks it, other logs may not).
    """
    return _search(context, phone=phone, qr_token=qr_token)


@router.get("/{member_no}", response_model=MemberOut)
def get_member(member_no: MemberNo, context: ReadContext) -> JSONResponse:
    """Return one member by card number."""
    with context.transaction() as session:
        member = service.find(session, program_id=context.program.id, member_no=member_no)
        return _render(context, service.view(session, member))


@router.patch("/{member_no}", response_model=MemberOut)
def change_member(member_no: MemberNo, body: MemberPatch, context: PosContext) -> JSONResponse:
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
        return _render(context, service.view(session, member))


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
