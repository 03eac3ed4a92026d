"""Behaviour events: growth value for what members do besides buying, capped per period."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from memberkit import pipeline
from memberkit.errors import Conflict, InvalidInput
from memberkit.growth.rules import ORDER
from memberkit.kit import keys
from memberkit.kit.i18n import _
from memberkit.kit.time import FUTURE_TOLERANCE, Timing
from memberkit.ledger import repository as ledger_repository
from memberkit.ledger.models import AccountCode, Asset, TransactionKind
from memberkit.ledger.service import Posting
from memberkit.member.service import MemberRef, TierOutcome
from memberkit.pipeline import Applied, EventKind
from memberkit.program.service import ProgramConfig


class UnknownBehaviour(InvalidInput):
    """An event type the program does not reward."""

    code = "unknown_behaviour"
    message = _("{kind} is not a behaviour this program rewards (known: {known}).")


class EventExists(Conflict):
    """The external id was used for an event already."""

    code = "event_exists"
    message = _("An event with external id {external_id} was recorded already.")


@dataclass(frozen=True)
class EventResult:
    """What an event earned: ``capped`` when the period's cap withheld some or all of it."""

    member_no: str
    kind: str
    growth_awarded: int
    capped: bool
    growth_balance: int
    tier: TierOutcome


def awarded_in_period(
    session: Session,
    *,
    member_id: int,
    kind: str | None,
    start: datetime,
    end: datetime,
    now: datetime,
    transaction_kind: str = TransactionKind.behaviour,
) -> int:
    """Return the growth a behaviour (``kind``) has earned the member within [start, end).

    With ``transaction_kind`` earn and no ``kind``: the growth spending has earned. Credits
    dated after ``now`` plus the clock tolerance are not counted: a cap is never used up by
    something dated in the future.
    """
    return ledger_repository.growth_credited(
        session,
        member_id=member_id,
        transaction_kind=transaction_kind,
        reason=kind,
        start=start,
        until=min(end, now + FUTURE_TOLERANCE),
    )


def post_award(
    session: Session,
    *,
    program_id: int,
    member_id: int,
    kind: str,
    growth: int,
    key: str,
    at: datetime,
    order_id: int | None = None,
) -> Posting:
    """Post a behaviour's growth as its own ledger transaction, the behaviour as its reason."""
    posting = Posting.open(
        session,
        program_id=program_id,
        member_id=member_id,
        kind=TransactionKind.behaviour,
        key=key,
        occurred_at=at,
        reason=kind,
        order_id=order_id,
    )
    posting.change_growth(growth, counterpart=AccountCode.issued)
    posting.finish()
    return posting


def record(
    session: Session,
    *,
    program: ProgramConfig,
    member_no: str,
    kind: str,
    occurred_at: datetime,
    external_id: str,
    timing: Timing | None = None,
) -> EventResult:
    """Award the growth of one behaviour event, within its cap, and upgrade if it qualifies.

    Dated in the future (beyond the clock tolerance) or, live, further back than the program
    allows, it is refused. The caller makes the event idempotent by ``external_id`` (the
    ledger key also carries it). Orders are not events: their growth comes with ``POST /orders``.
    """
    timing = timing or Timing.live()
    timing.check(occurred_at, backdate_days=program.policies.backdate_days)
    behaviour = program.behaviours.get(kind) if kind != ORDER else None
    if behaviour is None:
        known = sorted(k for k in program.behaviours if k != ORDER)
        raise UnknownBehaviour(kind=kind, known=", ".join(known))

    def post(session: Session, applied: Applied) -> int:
        if ledger_repository.transaction_id_by_key(session, program_id=program.id, key=applied.key):
            # The business key, for repeats that come after their idempotency record was
            # purged (an event capped to nothing posted nothing, and a repeat awards nothing).
            raise EventExists(external_id=external_id)
        start, end = behaviour.period(occurred_at, program.tz)
        award = behaviour.award(
            awarded_in_period(
                session,
                member_id=applied.member.id,
                kind=kind,
                start=start,
                end=end,
                now=applied.now,
            )
        )
        if award:
            post_award(
                session,
                program_id=program.id,
                member_id=applied.member.id,
                kind=kind,
                growth=award,
                key=applied.key,
                at=occurred_at,
            )
        return award

    applied, award = pipeline.apply(
        session,
        program=program,
        kind=EventKind.behaviour,
        key=keys.event(external_id),
        member=MemberRef(member_no=member_no),
        timing=timing,
        at=occurred_at,
        post=post,
    )
    assert applied.tier is not None, "an event is judged for an upgrade (memberkit.reactions)"
    return EventResult(
        member_no=applied.member.member_no,
        kind=kind,
        growth_awarded=award,
        capped=award < behaviour.growth,
        growth_balance=applied.balance(session, Asset.growth),
        tier=applied.tier,
    )
