"""Hand adjustments of a member's points: an operator's correction, as a member event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from memberkit import events, pipeline
from memberkit.kit.time import Timing
from memberkit.ledger import repository
from memberkit.ledger.models import Asset
from memberkit.ledger.service import AdjustmentExists, Posting, ZeroAdjustment, adjust
from memberkit.member import service as member_service
from memberkit.member.service import MemberRef
from memberkit.pipeline import Applied, EventKind, Requires
from memberkit.program.service import ProgramConfig


@dataclass(frozen=True)
class Adjusted:
    """What a hand adjustment did."""

    transaction_id: int
    member_no: str
    points: int
    points_balance: int


def adjust_by_hand(
    session: Session,
    *,
    program: ProgramConfig,
    member_no: str,
    points: int,
    reason: str,
    actor: str,
    key: str,
    now: datetime,
) -> Adjusted:
    """Apply an operator's adjustment of member ``member_no``'s points by the program's rules.

    A credit expires by the program's validity policy; a debit never takes the balance below
    zero. A frozen member may still be corrected, a closed one may not; an adjustment of zero
    is refused. A key posted already is refused (before the member's status is looked at), so
    a repeat that comes after its idempotency record was purged does not post twice.
    """

    def post(session: Session, applied: Applied) -> Posting:
        if repository.transaction_id_by_key(session, program_id=program.id, key=key) is not None:
            raise AdjustmentExists(key=key, member_no=applied.member.member_no)
        member_service.require_open(applied.member)
        if points == 0:
            raise ZeroAdjustment()
        posting = adjust(
            session,
            program_id=program.id,
            member_id=applied.member.id,
            points=points,
            reason=reason,
            actor=actor,
            key=key,
            occurred_at=now,
            expires_at=program.validity.expires_at(now, program.tz),
            as_of=now,
        )
        applied.balances.update(posting.balances)
        return posting

    def finish(session: Session, applied: Applied, posting: Posting) -> Adjusted:
        adjusted = Adjusted(
            transaction_id=posting.transaction_id,
            member_no=applied.member.member_no,
            points=points,
            points_balance=applied.balance(session, Asset.points),
        )
        events.emit(
            session,
            program_id=program.id,
            type=events.EventType.points_adjusted,
            member_id=applied.member.id,
            occurred_at=now,
            payload={
                "transaction_id": str(adjusted.transaction_id),
                "points": points,
                "reason": reason,
                "points_balance": adjusted.points_balance,
            },
        )
        return adjusted

    _applied, adjusted = pipeline.apply(
        session,
        program=program,
        kind=EventKind.adjustment,
        key=key,
        member=MemberRef(member_no=member_no),
        timing=Timing(now),
        at=now,
        post=post,
        # The status is checked after the key, so a late repeat is told it was made already.
        requires=Requires.any,
        finish=finish,
    )
    return adjusted
