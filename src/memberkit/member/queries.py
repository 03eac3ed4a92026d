"""Reads of members for screens and reports (the console's dashboard and lists)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from memberkit.member.models import Member
from memberkit.store.models import Store


@dataclass(frozen=True)
class MemberCounts:
    """How many members there are, how many joined since a moment, how many hold each tier."""

    total: int
    new: int
    by_tier: dict[str, int]


def counts(
    session: Session, *, program_id: int, since: datetime, stores: Collection[str] | None = None
) -> MemberCounts:
    """Count the program's members (registered at ``stores`` when given: their home store)."""
    condition = [Member.program_id == program_id]
    if stores is not None:
        condition.append(
            Member.store_id.in_(
                select(Store.id).where(Store.program_id == program_id, Store.code.in_(stores))
            )
        )
    by_tier = {
        code: int(count)
        for code, count in session.execute(
            select(Member.tier_code, func.count()).where(*condition).group_by(Member.tier_code)
        )
    }
    new = session.scalar(select(func.count()).where(*condition, Member.created_at >= since))
    return MemberCounts(total=sum(by_tier.values()), new=int(new or 0), by_tier=by_tier)
