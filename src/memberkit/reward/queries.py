"""Catalog reads for screens: the rewards, and redemptions with their member, reward, stores."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Row, Select, select
from sqlalchemy.orm import Session, aliased

from memberkit.kit.time import as_utc
from memberkit.member.models import Member
from memberkit.reward.models import Redemption, Reward
from memberkit.store.models import Store


def rewards(session: Session, *, program_id: int, active_only: bool = False) -> list[Reward]:
    """Every reward of the program, by code (only the active ones with ``active_only``)."""
    statement = select(Reward).where(Reward.program_id == program_id)
    if active_only:
        statement = statement.where(Reward.active.is_(True))
    return list(session.scalars(statement.order_by(Reward.code)))


@dataclass(frozen=True)
class RedemptionRow:
    """A redemption as screens and the API show it: named by codes, not ids."""

    external_id: str
    member_no: str
    reward_code: str
    reward_name: str
    kind: str
    quantity: int
    points: int
    cash_minor: int
    status: str
    store_code: str | None
    redeemed_at: datetime
    fulfilled_at: datetime | None
    fulfilled_store_code: str | None
    cancelled_at: datetime | None
    cancel_reason: str
    #: The codes of the coupons a coupon reward's redemption issued (read by the service).
    coupons: tuple[str, ...] = ()


_MADE_AT = aliased(Store)
_PICKED_UP_AT = aliased(Store)


def _rows() -> Select[Redemption, str, str, str, str, str, str]:
    return (
        select(
            Redemption,
            Member.member_no,
            Reward.code,
            Reward.name,
            Reward.kind,
            _MADE_AT.code,
            _PICKED_UP_AT.code,
        )
        .join(Member, Member.id == Redemption.member_id)
        .join(Reward, Reward.id == Redemption.reward_id)
        .outerjoin(_MADE_AT, _MADE_AT.id == Redemption.store_id)
        .outerjoin(_PICKED_UP_AT, _PICKED_UP_AT.id == Redemption.fulfilled_store_id)
        # A redemption settled by a conditional UPDATE in this session is read as it is now.
        .execution_options(populate_existing=True)
    )


def _row(found: Row[Redemption, str, str, str, str, str, str]) -> RedemptionRow:
    made, member_no, code, name, kind, store_code, pickup_code = found
    return RedemptionRow(
        external_id=made.external_id,
        member_no=member_no,
        reward_code=code,
        reward_name=name,
        kind=kind,
        quantity=made.quantity,
        points=made.points,
        cash_minor=made.cash_minor,
        status=made.status,
        store_code=store_code,
        redeemed_at=as_utc(made.redeemed_at),
        fulfilled_at=as_utc(made.fulfilled_at) if made.fulfilled_at else None,
        fulfilled_store_code=pickup_code,
        cancelled_at=as_utc(made.cancelled_at) if made.cancelled_at else None,
        cancel_reason=made.cancel_reason,
    )


def redemption(session: Session, *, program_id: int, external_id: str) -> RedemptionRow | None:
    """One redemption by its external id."""
    found = session.execute(
        _rows().where(Redemption.program_id == program_id, Redemption.external_id == external_id)
    ).one_or_none()
    return _row(found) if found is not None else None


def redemptions(
    session: Session,
    *,
    program_id: int,
    status: str | None = None,
    store_codes: frozenset[str] | None = None,
    store_code: str | None = None,
    member_id: int | None = None,
    limit: int = 100,
) -> list[RedemptionRow]:
    """Redemptions, newest first, by status, by the store they were made or picked up at.

    ``store_codes`` is a store-bound viewer's scope: what was made or picked up at its stores.
    ``store_code`` filters the same way for one store.
    """
    statement = _rows().where(Redemption.program_id == program_id)
    if status:
        statement = statement.where(Redemption.status == status)
    if member_id is not None:
        statement = statement.where(Redemption.member_id == member_id)
    for codes in (store_codes, frozenset({store_code}) if store_code else None):
        if codes is not None:
            statement = statement.where(_MADE_AT.code.in_(codes) | _PICKED_UP_AT.code.in_(codes))
    statement = statement.order_by(Redemption.redeemed_at.desc(), Redemption.id.desc())
    return [_row(found) for found in session.execute(statement.limit(limit))]
