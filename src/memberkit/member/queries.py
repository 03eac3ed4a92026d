"""Member reads for other domains: a member's invitees, as tier conditions count them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from memberkit.db import table
from memberkit.member.models import Member
from memberkit.order.models import Order
from memberkit.order.queries import not_fully_refunded


def invitee_counts(
    session: Session, *, member_id: int, tiers_from: Mapping[int, Sequence[str]]
) -> tuple[int, dict[int, int]]:
    """Count the member's invitees who bought, and per level those in ``tiers_from[level]``.

    An invitee whose every order was fully refunded has not bought. One statement.
    """
    members, orders = table(Member), table(Order)
    bought = (
        select(orders.c.id)
        .where(orders.c.member_id == members.c.id, not_fully_refunded(orders))
        .exists()
    )
    columns = [func.coalesce(func.sum(case((bought, 1), else_=0)), 0)]
    ordered = sorted(tiers_from)
    columns += [
        func.coalesce(func.sum(case((members.c.tier_code.in_(tiers_from[level]), 1), else_=0)), 0)
        for level in ordered
    ]
    row = (
        session.connection()
        .execute(select(*columns).where(members.c.referrer_id == member_id))
        .one()
    )
    return int(row[0]), {level: int(row[1 + i]) for i, level in enumerate(ordered)}
