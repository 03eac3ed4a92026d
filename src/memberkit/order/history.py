"""Earning imported history: each member's order earns what the rules give on its own date.

The importer (:mod:`memberkit.order.importer`) writes a batch of orders and refunds by
multi-row statements, earning nothing. When the program's ``history`` section asks for more
(``earn: growth`` or ``all``, or ``counts_for_tiers``), :func:`replay` then sends each order
of a member, and each refund of one, through the member-event pipeline in the batch's
transaction, as a live order or refund would go:

- an order is decided by :func:`memberkit.order.rules.decide` on its one line, paid in full
  by money (history has no points or wallet payments, coupons or tier discounts), with the
  facts of its own date (date multipliers, the growth caps of its period) and posted by
  :func:`memberkit.order.service.post_earning` dated at the order: its points lot expires as
  the validity policy says from that date, so one already past it is born expired (it goes
  in and expires in the same transaction, paying no debt, shown as expired). ``growth``
  keeps the growth and drops the points. The tier reactions of an order follow;
- a refund takes back its share of what its order earned (by amount, as a live refund of a
  one-line order does), from the order's own lot first, not what already expired, by
  :func:`memberkit.order.service.post_take_back`; the refund reaction may move the tier back.

Orders go member by member (ids ascending: the order locks are taken in), each member's by
date, then that member's refunds by date. The postings are keyed as a live order's
(``order:<external id>:earn``), and the importer never sends one external id twice, so a
re-import earns nothing. A member who is not active (frozen, closed) earns nothing; a sale
to no member is not sent at all. Orders the rules refuse (an amount of 0, or above the
earning section's ``max_order_amount``) stay imported and earn nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from fractions import Fraction

from sqlalchemy.orm import Session

from memberkit import pipeline
from memberkit.kit import keys
from memberkit.kit.time import Timing, utcnow
from memberkit.ledger import repository as ledger_repository
from memberkit.ledger.posting import claw_back
from memberkit.member.models import MemberStatus
from memberkit.order import repository, rules, service
from memberkit.order.errors import OrderAmountImplausible, OrderAmountZero
from memberkit.order.repository import HistoryOrder, HistoryRefund
from memberkit.order.settings import HISTORY, HistoryEarn
from memberkit.pipeline import Applied, EventKind, Requires
from memberkit.program.service import ProgramConfig


@dataclass
class Replayed:
    """What replaying a batch of history earned and took back."""

    points_earned: int = 0
    growth_earned: int = 0
    points_reversed: int = 0
    growth_reversed: int = 0


def replay(
    session: Session,
    *,
    program: ProgramConfig,
    orders: Sequence[str],
    refunds: Sequence[str],
) -> Replayed:
    """Earn the imported orders (by external id) and claw back the imported refunds.

    Under ``earn: none`` without ``counts_for_tiers`` orders earn nothing, but a refund of an
    order that earned (imported while the setting said so) still takes back its share: the
    setting decides what new orders earn, not whether a refund settles an earlier earning.
    In the caller's unit of work, which holds the locks of the members it touched until it
    ends.
    """
    settings = program.section(HISTORY)
    done = Replayed()
    found = repository.history_refunds(
        session, program_id=program.id, external_ids=refunds, earned_only=not settings.replays
    )
    if not settings.replays and not found:
        return done
    timing = Timing(utcnow(), history=True)
    by_member: dict[int, tuple[list[HistoryOrder], list[HistoryRefund]]] = {}
    if settings.replays:
        for order in repository.history_orders(session, program_id=program.id, external_ids=orders):
            by_member.setdefault(order.member_id, ([], []))[0].append(order)
    for refund in found:
        by_member.setdefault(refund.member_id, ([], []))[1].append(refund)
    for member_id in sorted(by_member):
        member_orders, member_refunds = by_member[member_id]
        for order in member_orders:
            _earn(
                session, program=program, order=order, earn=settings.earn, timing=timing, done=done
            )
        for refund in member_refunds:
            _take_back(session, program=program, refund=refund, timing=timing, done=done)
    return done


def _earn(
    session: Session,
    *,
    program: ProgramConfig,
    order: HistoryOrder,
    earn: HistoryEarn,
    timing: Timing,
    done: Replayed,
) -> None:
    """Apply one imported order as an order event: decide, record, post, react."""

    def post(session: Session, applied: Applied) -> None:
        applied.order_id = order.id
        if earn is HistoryEarn.none or applied.member.status != MemberStatus.active:
            return
        decision = _decide(session, program=program, order=order, applied=applied)
        if decision is None:
            return
        if earn is HistoryEarn.growth:
            nothing = [0] * len(decision.earning.line_points_weight)
            decision = replace(
                decision,
                earning=replace(decision.earning, points=0, line_points_weight=nothing),
            )
        earning = decision.earning
        repository.set_history_earning(
            session,
            order_id=order.id,
            eligible_minor=earning.eligible_minor,
            points=earning.points,
            growth=decision.growth_earned,
            earn_weight=earning.line_points_weight[0],
            growth_weight=earning.line_growth_weight[0],
        )
        service.post_earning(
            session,
            external_id=order.external_id,
            occurred_at=order.occurred_at,
            applied=applied,
            decision=decision,
        )
        done.points_earned += earning.points
        done.growth_earned += decision.growth_earned

    pipeline.apply(
        session,
        program=program,
        kind=EventKind.order,
        key=keys.order(order.external_id),
        member=order.member_id,
        timing=timing,
        at=order.occurred_at,
        post=post,
        requires=Requires.any,
    )


def _decide(
    session: Session, *, program: ProgramConfig, order: HistoryOrder, applied: Applied
) -> rules.OrderDecision | None:
    """What the order earns by the rules on its date; None when the rules refuse it."""
    paid = [rules.Priced("cash", order.total_minor, 0)]
    try:
        return rules.decide(
            program.earning,
            service.facts(
                session,
                program=program,
                member_id=applied.member.id,
                tier_code=applied.member.tier_code,
                now=applied.now,
                lines=[rules.EarnLine(order.total_minor, order.category)],
                store_code=order.store_code,
                at=order.occurred_at,
                payments=paid,
            ),
        )
    except (OrderAmountZero, OrderAmountImplausible):
        return None


def _take_back(
    session: Session,
    *,
    program: ProgramConfig,
    refund: HistoryRefund,
    timing: Timing,
    done: Replayed,
) -> None:
    """Apply one imported refund as a refund event: take back its share of what was earned."""

    def post(session: Session, applied: Applied) -> None:
        applied.order_id = refund.order_id
        order = repository.load_order(session, order_id=refund.order_id)
        share = (
            Fraction(refund.refunded_minor, order.total_minor) if order.total_minor else Fraction(1)
        )
        points_reversed = rules.reversal(order.points_earned, order.points_reversed, [1], [share])
        growth_reversed = rules.reversal(order.growth_earned, order.growth_reversed, [1], [share])
        if not (points_reversed or growth_reversed):
            return
        own = ledger_repository.earned_line(
            session, program_id=program.id, key=keys.order_earning(order.external_id)
        )
        points_taken, already_expired = claw_back(
            points_reversed,
            lot_remaining=own.remaining,
            lot_expired=own.expired - order.points_already_expired,
        )
        repository.set_history_take_back(
            session,
            order_id=order.id,
            refund_id=refund.id,
            totals={
                "points_reversed": order.points_reversed + points_reversed,
                "growth_reversed": order.growth_reversed + growth_reversed,
                "points_already_expired": order.points_already_expired + already_expired,
            },
            refund={
                "points_reversed": points_reversed,
                "growth_reversed": growth_reversed,
                "points_already_expired": already_expired,
            },
        )
        session.expire(order)
        service.post_take_back(
            session,
            program_id=program.id,
            member_id=applied.member.id,
            key=keys.refund(refund.external_id),
            occurred_at=refund.occurred_at,
            now=applied.now,
            order_id=order.id,
            refund_id=refund.id,
            points=points_taken,
            growth=growth_reversed,
            own_lots=own.lot_ids,
        )
        done.points_reversed += points_taken
        done.growth_reversed += growth_reversed

    pipeline.apply(
        session,
        program=program,
        kind=EventKind.refund,
        key=keys.refund(refund.external_id),
        member=refund.member_id,
        timing=timing,
        at=refund.occurred_at,
        post=post,
        requires=Requires.any,
    )
