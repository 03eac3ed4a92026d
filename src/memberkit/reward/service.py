"""Catalog use cases: define rewards, redeem one with points, pick it up at a store, cancel.

A redemption goes through the member-event pipeline (the member locked and active, their
points past expiry expired first), so the per-member limit and the points spent are one
decision; the stock is one conditional UPDATE, so 16 members redeeming the last 3 units at
once get 3 redemptions and 13 ``reward_out_of_stock``. Points are burnt earliest expiry first
(:meth:`memberkit.ledger.service.Posting.debit_points`); a cancellation gives them back to the
lots they came from, with those lots' own expiry (as a refund gives back points paid).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from memberkit import events, pipeline
from memberkit.audit import service as audit_service
from memberkit.audit.rules import Origin
from memberkit.benefit.rules import Period
from memberkit.coupon import service as coupon_service
from memberkit.coupon.models import CouponSource, CouponTemplate
from memberkit.errors import Conflict, Forbidden, InvalidInput, NotFound
from memberkit.kit import keys
from memberkit.kit.i18n import Text, _
from memberkit.kit.money import format_money
from memberkit.kit.time import Timing, as_utc, iso
from memberkit.ledger import repository as ledger_repository
from memberkit.ledger.models import AccountCode, Asset, TransactionKind
from memberkit.ledger.posting import give_back
from memberkit.ledger.service import Posting, expire_due
from memberkit.member.service import MemberRef
from memberkit.pipeline import Applied, EventKind, Requires
from memberkit.program.service import ProgramConfig
from memberkit.reward import queries, repository, rules
from memberkit.reward.models import Reward
from memberkit.reward.queries import RedemptionRow
from memberkit.reward.rules import Availability, RedemptionStatus, RewardKind, Terms
from memberkit.store import service as store_service


class RewardNotFound(NotFound):
    """No reward of the program has that code."""

    code = "reward_not_found"
    message = _("There is no reward {code}.")


class RewardExists(Conflict):
    """A different reward with that code exists already."""

    code = "reward_exists"
    message = _("A reward {code} exists already.")


class InvalidReward(InvalidInput):
    """A reward whose terms do not make sense."""

    code = "invalid_reward"
    message = _("Invalid reward: {problem}")


class RewardNotAvailable(Conflict):
    """The reward is switched off or outside its window."""

    code = "reward_not_available"
    message = _("Reward {code} is switched off.")
    not_yet = _("Reward {code} can be redeemed from {at}.")
    ended = _("Reward {code} could be redeemed until {at}.")


class RewardTierRestricted(Conflict):
    """The member's tier may not redeem the reward."""

    code = "reward_tier_restricted"
    message = _("Reward {code} is for tiers {tiers}; this member is {tier}.")


class RewardMemberLimit(Conflict):
    """The member has redeemed the reward as often as its limit allows this period."""

    code = "reward_member_limit"
    message = _(
        "Reward {code}: {left} of {limit} left for this member this period, {quantity} asked "
        "for. The limit starts again on {renews}."
    )
    once = _("Reward {code}: {left} of {limit} left for this member, {quantity} asked for.")


class RewardOutOfStock(Conflict):
    """Not enough units of the reward are left."""

    code = "reward_out_of_stock"
    message = _("Reward {code}: not enough left in stock for {quantity}.")


class RedemptionNotFound(NotFound):
    """No redemption has that external id."""

    code = "redemption_not_found"
    message = _("There is no redemption {external_id}.")


class RedemptionNotPending(Conflict):
    """The redemption was picked up or cancelled already."""

    code = "redemption_not_pending"
    message = _("Redemption {external_id} is {status}: only a pending one can be cancelled.")
    picked_up = _("Redemption {external_id} is {status}: only a pending one can be picked up.")


class RedemptionOfAnotherStore(Forbidden):
    """A store-bound caller cancelling a redemption made elsewhere (or online)."""

    code = "store_mismatch"
    message = _("Redemption {external_id} was not made at store {store_code}: cancel it there.")


class PickupNeedsStore(InvalidInput):
    """A pickup names no store."""

    code = "store_required"
    message = _("A pickup happens at a store: give store_code.")


#: The fields of a reward's definition, as :class:`RewardSpec` names them.
CHANGEABLE = (
    "name",
    "description",
    "picture_url",
    "points",
    "cash_minor",
    "stock",
    "limit_count",
    "limit_period",
    "available_from",
    "available_until",
    "tiers",
    "active",
)


@dataclass(frozen=True)
class RewardSpec:
    """A reward as defined: its code and kind, and the terms :data:`CHANGEABLE` names."""

    code: str
    kind: RewardKind
    name: str
    points: int
    description: str = ""
    picture_url: str = ""
    cash_minor: int = 0
    stock: int | None = None
    limit_count: int | None = None
    limit_period: Period = Period.once
    available_from: datetime | None = None
    available_until: datetime | None = None
    tiers: tuple[str, ...] = field(default_factory=tuple)
    active: bool = True
    #: The code of the coupon template a ``coupon`` reward issues from.
    coupon_template: str | None = None


def terms_of(reward: Reward) -> Terms:
    """A reward's terms as the rules read them."""
    return Terms(
        points=reward.points,
        cash_minor=reward.cash_minor,
        stock=reward.stock,
        limit_count=reward.limit_count,
        limit_period=Period(reward.limit_period),
        available_from=as_utc(reward.available_from) if reward.available_from else None,
        available_until=as_utc(reward.available_until) if reward.available_until else None,
        tiers=frozenset(reward.tiers or ()),
        active=reward.active,
    )


def shown(reward: Reward) -> dict[str, Any]:
    """A reward as the audit log keeps it."""
    return {
        "code": reward.code,
        "kind": reward.kind,
        "name": reward.name,
        "description": reward.description,
        "picture_url": reward.picture_url,
        "points": reward.points,
        "cash": format_money(reward.cash_minor),
        "stock": reward.stock,
        "limit_count": reward.limit_count,
        "limit_period": reward.limit_period,
        "available_from": iso(reward.available_from),
        "available_until": iso(reward.available_until),
        "tiers": list(reward.tiers or ()),
        "active": reward.active,
        "coupon_template_id": reward.coupon_template_id,
    }


def _check(program: ProgramConfig, values: Mapping[str, Any]) -> None:
    terms = Terms(
        points=values["points"],
        cash_minor=values["cash_minor"],
        stock=values["stock"],
        limit_count=values["limit_count"],
        limit_period=Period(values["limit_period"]),
        available_from=values["available_from"],
        available_until=values["available_until"],
        tiers=frozenset(values["tiers"]),
        active=values["active"],
    )
    try:
        rules.check_terms(terms, tiers=[tier.code for tier in program.ladder.tiers])
    except rules.RewardRulesError as exc:
        raise InvalidReward(problem=exc.text) from exc


def catalog(session: Session, *, program: ProgramConfig, active_only: bool = False) -> list[Reward]:
    """Return the program's rewards by code (only the active ones with ``active_only``)."""
    return queries.rewards(session, program_id=program.id, active_only=active_only)


def get(session: Session, *, program: ProgramConfig, code: str) -> Reward:
    """Return the program's reward with this code, or refuse (404 ``reward_not_found``)."""
    reward = repository.by_code(session, program_id=program.id, code=code)
    if reward is None:
        raise RewardNotFound(code=code)
    return reward


def define(
    session: Session, *, program: ProgramConfig, spec: RewardSpec, origin: Origin
) -> tuple[Reward, bool]:
    """Define a reward of the catalog; audited.

    Idempotent by code: the same definition again returns it (``False``: not made now); a
    different one under a code in use is refused (409 ``reward_exists``). A ``coupon`` reward
    names an existing coupon template (404 ``coupon_template_not_found``) and has no cash part
    (422 ``invalid_reward``).
    """
    problem = rules.kind_problem(
        spec.kind, coupon_template=spec.coupon_template, cash_minor=spec.cash_minor
    )
    if problem is not None:
        raise InvalidReward(problem=problem)
    values: dict[str, Any] = {name: getattr(spec, name) for name in CHANGEABLE}
    if spec.coupon_template:
        values["coupon_template_id"] = coupon_service.found(
            session, program=program, code=spec.coupon_template
        ).id
    values["tiers"] = sorted(set(values["tiers"]))
    _check(program, values)
    there = repository.by_code(session, program_id=program.id, code=spec.code)
    if there is not None:
        wanted = shown(Reward(code=spec.code, kind=str(spec.kind), **values))
        if shown(there) != wanted:
            raise RewardExists(code=spec.code)
        return there, False
    made = repository.add(
        session,
        reward=Reward(
            program_id=program.id, code=spec.code, kind=str(spec.kind), redeemed=0, **values
        ),
    )
    _audit(session, program, origin, "reward.create", "reward", made.code, None, shown(made))
    return made, True


def change(
    session: Session,
    *,
    program: ProgramConfig,
    code: str,
    changes: Mapping[str, Any],
    origin: Origin,
) -> Reward:
    """Change a reward's terms (any of :data:`CHANGEABLE`); switching it off is ``active`` False.

    Setting ``stock`` sets what is left now (None: unlimited). Audited with before and after.
    """
    unknown = set(changes) - set(CHANGEABLE)
    if unknown:
        raise ValueError(f"not a reward field: {sorted(unknown)}")
    reward = get(session, program=program, code=code)
    before = shown(reward)
    values = {name: getattr(reward, name) for name in CHANGEABLE}
    values["available_from"] = terms_of(reward).available_from
    values["available_until"] = terms_of(reward).available_until
    values.update(changes)
    if "tiers" in changes:
        values["tiers"] = sorted(set(changes["tiers"]))
    _check(program, values)
    for name in changes:
        setattr(reward, name, values[name])
    session.flush()
    session.refresh(reward)
    after = shown(reward)
    if after != before:
        _audit(session, program, origin, "reward.update", "reward", code, before, after)
    return reward


@dataclass(frozen=True)
class Redeemed:
    """A redemption as made, and the member's points balance after it."""

    redemption: RedemptionRow
    points_balance: int


def redeem(
    session: Session,
    *,
    program: ProgramConfig,
    member_no: str,
    code: str,
    external_id: str,
    quantity: int,
    store_code: str | None,
    actor: str,
    timing: Timing | None = None,
) -> Redeemed:
    """Redeem ``quantity`` units of a reward for a member with points (积分兑换).

    Through the pipeline: the member is locked and must be active, and their points past
    expiry are expired first. Refused when the reward is off or outside its window (409
    ``reward_not_available``), not for the member's tier (409 ``reward_tier_restricted``), past
    the member's limit this period on the program's clock (409 ``reward_member_limit``), out
    of stock (409 ``reward_out_of_stock``, one conditional UPDATE decides) or when the points
    do not cover it (409 ``insufficient_points``). A redemption is made now, never dated back;
    the caller makes it idempotent by ``external_id``. It waits for pickup (``pending``).
    """
    timing = timing or Timing.live()
    if not 1 <= quantity <= rules.MAX_QUANTITY:
        raise InvalidReward(problem=Text(_("the quantity is 1 to {most}"), most=rules.MAX_QUANTITY))

    def post(session: Session, applied: Applied) -> Redeemed:
        member = applied.member
        reward = get(session, program=program, code=code)
        terms = terms_of(reward)
        _require_available(reward, terms, at=applied.at, tier_code=member.tier_code)
        if repository.redemption_exists(session, program_id=program.id, external_id=external_id):
            raise Conflict()  # the idempotent runner answers a true repeat before this
        window = rules.limit_window(terms, at=applied.at, tz=program.tz)
        redeemed = repository.redeemed_in(
            session, member_id=member.id, reward_id=reward.id, start=window.start, end=window.end
        )
        left = rules.limit_left(terms, redeemed=redeemed)
        if left is not None and quantity > left:
            renews = window.end.astimezone(program.tz).date().isoformat() if window.end else ""
            raise RewardMemberLimit(
                None if window.end else RewardMemberLimit.once,
                code=code,
                left=left,
                limit=terms.limit_count,
                quantity=quantity,
                renews=renews,
            )
        points, cash_minor = rules.price(terms, quantity)
        if not repository.take_stock(session, reward_id=reward.id, quantity=quantity):
            raise RewardOutOfStock(code=code, quantity=quantity)
        store_id = (
            store_service.active_store_id(session, program_id=program.id, code=store_code)
            if store_code
            else None
        )
        burn = Posting.open(
            session,
            program_id=program.id,
            member_id=member.id,
            kind=TransactionKind.reward,
            key=keys.redemption(external_id),
            occurred_at=applied.at,
            reason=f"reward {code} x{quantity}",
            actor=actor,
        )
        balance = burn.debit_points(points, counterpart=AccountCode.redeemed, as_of=applied.now)
        burn.finish()
        applied.balances.update(burn.balances)
        repository.record(
            session,
            program_id=program.id,
            reward_id=reward.id,
            member_id=member.id,
            external_id=external_id,
            quantity=quantity,
            points=points,
            cash_minor=cash_minor,
            status=RedemptionStatus.pending,
            store_id=store_id,
            redeemed_at=applied.at,
            actor=actor,
        )
        if reward.kind == RewardKind.coupon:
            _deliver_coupons(session, program, reward, member.id, external_id, quantity, applied)
        row = _row(session, program, external_id)
        events.emit(
            session,
            program_id=program.id,
            type=events.EventType.reward_redeemed,
            member_id=member.id,
            occurred_at=applied.at,
            payload={**_payload(row), "points_balance": balance},
        )
        return Redeemed(row, balance)

    _applied, result = pipeline.apply(
        session,
        program=program,
        kind=EventKind.redemption,
        key=keys.redemption(external_id),
        member=MemberRef(member_no=member_no),
        timing=timing,
        at=timing.now,
        post=post,
        requires=Requires.active,
    )
    return result


def _require_available(reward: Reward, terms: Terms, *, at: datetime, tier_code: str) -> None:
    found = rules.availability(terms, at=at, tier_code=tier_code)
    if found is Availability.inactive:
        raise RewardNotAvailable(code=reward.code)
    if found is Availability.not_yet:
        raise RewardNotAvailable(
            RewardNotAvailable.not_yet, code=reward.code, at=iso(terms.available_from)
        )
    if found is Availability.ended:
        raise RewardNotAvailable(
            RewardNotAvailable.ended, code=reward.code, at=iso(terms.available_until)
        )
    if found is Availability.tier:
        raise RewardTierRestricted(
            code=reward.code, tiers=", ".join(sorted(terms.tiers)), tier=tier_code
        )


def _deliver_coupons(
    session: Session,
    program: ProgramConfig,
    reward: Reward,
    member_id: int,
    external_id: str,
    quantity: int,
    applied: Applied,
) -> None:
    """Issue a coupon reward's coupons and settle its redemption at once (nothing to pick up).

    One coupon per unit, each under its own batch key of the redemption
    (``reward:<external id>:<n>``), through the one issuing path: the template's budget and
    per-member limit hold, and a refusal (budget spent, template off) refuses the redemption
    whole, its points and stock included.
    """
    template = session.get(CouponTemplate, reward.coupon_template_id)
    assert template is not None  # a coupon reward names its template (define checks)
    for unit in range(1, quantity + 1):
        coupon_service.issue(
            session,
            program=program,
            template=template,
            member_id=member_id,
            batch_key=f"{COUPON_BATCH}{external_id}:{unit}",
            source=CouponSource.reward,
            actor=f"reward:{reward.code}",
            at=applied.at,
        )
    redemption = repository.redemption_of(session, program_id=program.id, external_id=external_id)
    assert redemption is not None
    repository.settle(
        session,
        redemption_id=redemption.id,
        status=RedemptionStatus.fulfilled,
        values={"fulfilled_at": applied.at},
    )


#: The batch keys of a redemption's coupons begin so (then its external id and the unit).
COUPON_BATCH = "reward:"


def _with_coupons(session: Session, program: ProgramConfig, row: RedemptionRow) -> RedemptionRow:
    """``row`` with the codes of the coupons it issued (a coupon reward's; none otherwise)."""
    if row.kind != RewardKind.coupon:
        return row
    codes = coupon_service.codes_under(
        session, program=program, batch_prefix=f"{COUPON_BATCH}{row.external_id}:"
    )
    return replace(row, coupons=tuple(codes))


def _row(session: Session, program: ProgramConfig, external_id: str) -> RedemptionRow:
    row = queries.redemption(session, program_id=program.id, external_id=external_id)
    if row is None:
        raise RedemptionNotFound(external_id=external_id)
    return _with_coupons(session, program, row)


def _payload(row: RedemptionRow) -> dict[str, Any]:
    """A redemption as its events tell it (no personal data: the member by card number)."""
    return {
        "external_id": row.external_id,
        "reward": row.reward_code,
        "kind": row.kind,
        "quantity": row.quantity,
        "points": row.points,
        "cash": format_money(row.cash_minor),
        "status": row.status,
        "store_code": row.store_code,
        **({"coupons": list(row.coupons)} if row.kind == RewardKind.coupon else {}),
    }


def find(session: Session, *, program: ProgramConfig, external_id: str) -> RedemptionRow:
    """Return one redemption by its external id (404 ``redemption_not_found``)."""
    return _row(session, program, external_id)


def of_member(session: Session, *, program: ProgramConfig, member_id: int) -> list[RedemptionRow]:
    """The member's redemptions, newest first (a coupon reward's with its coupons)."""
    rows = queries.redemptions(session, program_id=program.id, member_id=member_id)
    return [_with_coupons(session, program, row) for row in rows]


def pending_of(session: Session, *, program: ProgramConfig, member_id: int) -> list[RedemptionRow]:
    """The member's redemptions waiting for pickup, newest first."""
    return queries.redemptions(
        session, program_id=program.id, member_id=member_id, status=RedemptionStatus.pending
    )


def listing(
    session: Session,
    *,
    program: ProgramConfig,
    status: RedemptionStatus | None,
    store_code: str | None,
    scope: frozenset[str] | None,
    limit: int = 100,
) -> list[RedemptionRow]:
    """Redemptions, newest first, by status and store (``scope``: a store-bound viewer's)."""
    return queries.redemptions(
        session,
        program_id=program.id,
        status=status,
        store_code=store_code,
        store_codes=scope,
        limit=limit,
    )


def _member_of(session: Session, program: ProgramConfig, external_id: str) -> int:
    found = repository.redemption_of(session, program_id=program.id, external_id=external_id)
    if found is None:
        raise RedemptionNotFound(external_id=external_id)
    return found.member_id


def _not_pending(external_id: str, status: str, *, picking_up: bool) -> RedemptionNotPending:
    return RedemptionNotPending(
        RedemptionNotPending.picked_up if picking_up else None,
        external_id=external_id,
        status=Text(rules.STATUS_NAMES[RedemptionStatus(status)]),
    )


def fulfil(
    session: Session,
    *,
    program: ProgramConfig,
    external_id: str,
    store_code: str,
    origin: Origin,
    timing: Timing | None = None,
) -> RedemptionRow:
    """Mark a pending redemption picked up at ``store_code`` (the cash part taken there).

    Once: a redemption picked up or cancelled already is refused (409
    ``redemption_not_pending``), decided by a conditional UPDATE. Audited.
    """
    timing = timing or Timing.live()

    def post(session: Session, applied: Applied) -> RedemptionRow:
        found = repository.redemption_of(session, program_id=program.id, external_id=external_id)
        assert found is not None
        store_id = store_service.active_store_id(session, program_id=program.id, code=store_code)
        settled = repository.settle(
            session,
            redemption_id=found.id,
            status=RedemptionStatus.fulfilled,
            values={
                "fulfilled_at": timing.now,
                "fulfilled_store_id": store_id,
                "fulfilled_by": origin.actor_name[:100],
            },
        )
        if not settled:
            session.refresh(found)
            raise _not_pending(external_id, found.status, picking_up=True)
        row = _row(session, program, external_id)
        events.emit(
            session,
            program_id=program.id,
            type=events.EventType.reward_fulfilled,
            member_id=applied.member.id,
            occurred_at=timing.now,
            payload={**_payload(row), "pickup_store_code": store_code},
        )
        _audit(
            session,
            program,
            origin,
            "redemption.fulfil",
            "redemption",
            external_id,
            {"status": RedemptionStatus.pending},
            {"status": row.status, "store_code": store_code, "cash": format_money(row.cash_minor)},
        )
        return row

    _applied, result = pipeline.apply(
        session,
        program=program,
        kind=EventKind.redemption_fulfil,
        key=keys.redemption_fulfil(external_id),
        member=_member_of(session, program, external_id),
        timing=timing,
        at=timing.now,
        post=post,
        requires=Requires.any,
    )
    return result


def cancel(
    session: Session,
    *,
    program: ProgramConfig,
    external_id: str,
    reason: str,
    store_code: str | None,
    origin: Origin,
    timing: Timing | None = None,
) -> Redeemed:
    """Cancel a pending redemption: its points back to their lots, its stock back; audited.

    The points return to the lots they were burnt from, each with that lot's own expiry (what
    has expired since is expired again at once: nothing lives longer than its lot). A
    redemption picked up or cancelled already is refused (409 ``redemption_not_pending``).
    ``store_code`` is a store-bound caller's store: it cancels only what was redeemed there.
    """
    timing = timing or Timing.live()

    def post(session: Session, applied: Applied) -> Redeemed:
        found = repository.redemption_of(session, program_id=program.id, external_id=external_id)
        assert found is not None
        if store_code is not None:
            store_id = store_service.active_store_id(
                session, program_id=program.id, code=store_code
            )
            if found.store_id != store_id:
                raise RedemptionOfAnotherStore(external_id=external_id, store_code=store_code)
        settled = repository.settle(
            session,
            redemption_id=found.id,
            status=RedemptionStatus.cancelled,
            values={
                "cancelled_at": timing.now,
                "cancel_reason": reason,
                "cancelled_by": origin.actor_name[:100],
            },
        )
        if not settled:
            session.refresh(found)
            raise _not_pending(external_id, found.status, picking_up=False)
        repository.return_stock(session, reward_id=found.reward_id, quantity=found.quantity)
        balance = _give_points_back(
            session, applied, external_id=external_id, points=found.points, reason=reason
        )
        row = _row(session, program, external_id)
        events.emit(
            session,
            program_id=program.id,
            type=events.EventType.reward_cancelled,
            member_id=applied.member.id,
            occurred_at=timing.now,
            payload={**_payload(row), "reason": reason, "points_balance": balance},
        )
        _audit(
            session,
            program,
            origin,
            "redemption.cancel",
            "redemption",
            external_id,
            {"status": RedemptionStatus.pending},
            {"status": row.status, "reason": reason, "points_returned": found.points},
        )
        return Redeemed(row, balance)

    _applied, result = pipeline.apply(
        session,
        program=program,
        kind=EventKind.redemption_cancel,
        key=keys.redemption_cancel(external_id),
        member=_member_of(session, program, external_id),
        timing=timing,
        at=timing.now,
        post=post,
        requires=Requires.any,
    )
    return result


def _give_points_back(
    session: Session, applied: Applied, *, external_id: str, points: int, reason: str
) -> int:
    """Credit a cancelled redemption's points to the lots it burnt, with their own expiry."""
    program = applied.program
    burnt = ledger_repository.transaction_id_by_key(
        session, program_id=program.id, key=keys.redemption(external_id)
    )
    spent = ledger_repository.spent_from(session, transaction_id=burnt) if burnt else []
    back = give_back([(lot, lot.points) for lot in spent], returned=0, points=points)
    posting = Posting.open(
        session,
        program_id=program.id,
        member_id=applied.member.id,
        kind=TransactionKind.reward_cancel,
        key=keys.redemption_cancel(external_id),
        occurred_at=applied.now,
        reason=reason,
    )
    for source, part in reversed(back):
        # Past its lot's expiry by now: into the lot, then expired below; it pays no debt.
        lapsed = source.expires_at is not None and source.expires_at <= applied.now
        posting.credit_points(
            part,
            counterpart=AccountCode.redeemed,
            earned_at=source.earned_at,
            expires_at=source.expires_at,
            settle=not lapsed,
            source_lot_id=source.line_id,
        )
    posting.finish()
    expire_due(session, program_id=program.id, member_id=applied.member.id, as_of=applied.now)
    return ledger_repository.member_balances(session, member_id=applied.member.id).get(
        Asset.points, 0
    )


def _audit(
    session: Session,
    program: ProgramConfig,
    origin: Origin,
    action: str,
    subject_type: str,
    subject_id: str,
    before: Any,
    after: Any,
) -> None:
    audit_service.record(
        session,
        program_id=program.id,
        origin=origin,
        action=action,
        subject_type=subject_type,
        subject_id=subject_id,
        before=before,
        after=after,
    )
