"""Benefit use cases: define benefits, grant them to tiers, verify (核销) and undo uses.

A verification goes through the member-event pipeline (the member locked and active), so the
quota check and the use it allows are one decision: two stores verifying the last free parking
voucher of a month at once get one use and one ``benefit_quota_exhausted``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from memberkit import events, pipeline
from memberkit.benefit import queries, repository, rules
from memberkit.benefit.models import Benefit, BenefitUse
from memberkit.benefit.rules import BenefitKind, Period, is_system
from memberkit.benefit.settings import BENEFITS
from memberkit.errors import Conflict, Forbidden, InvalidInput, NotFound
from memberkit.kit import keys
from memberkit.kit.i18n import Text, _
from memberkit.kit.time import Timing, utcnow
from memberkit.member.models import Member
from memberkit.member.service import MemberRef
from memberkit.pipeline import Applied, EventKind, Requires
from memberkit.program.service import ProgramConfig
from memberkit.store import service as store_service


class BenefitNotFound(NotFound):
    """No benefit of the program has that code."""

    code = "benefit_not_found"
    message = _("There is no benefit {code}.")


class BenefitExists(Conflict):
    """A benefit with that code exists already."""

    code = "benefit_exists"
    message = _("A benefit {code} exists already.")


class InvalidBenefit(InvalidInput):
    """A benefit or grant that does not make sense."""

    code = "invalid_benefit"
    message = _("Invalid benefit: {problem}")


class SystemBenefit(Conflict):
    """A system benefit may only be renamed and re-described."""

    code = "benefit_is_system"
    message = _(
        "{code} is applied by the platform itself: it can be renamed and re-described, "
        "never deleted, disabled or verified by hand."
    )


class BenefitUsed(Conflict):
    """A benefit with uses is kept: it may be switched off, not deleted."""

    code = "benefit_used"
    message = _("Benefit {code} has been used: switch it off instead, its history stays.")


class BenefitInactive(Conflict):
    """The benefit is switched off."""

    code = "benefit_inactive"
    message = _("Benefit {code} is switched off.")


class NotGranted(Conflict):
    """The member's tier does not have the benefit."""

    code = "benefit_not_granted"
    message = _("Tier {tier} does not have benefit {code}.")


class QuotaExhausted(Conflict):
    """The member has used the benefit's quota of this period."""

    code = "benefit_quota_exhausted"
    message = _(
        "Benefit {code}: {left} of {quota} left this period, {quantity} asked for. "
        "The quota starts again on {renews}."
    )
    once = _("Benefit {code}: {left} of {quota} left while the member holds this tier.")


class UseNotFound(NotFound):
    """No use of that external id (of this member)."""

    code = "benefit_use_not_found"
    message = _("Member {member_no} has no benefit use with external id {external_id}.")


class UndoClosed(Conflict):
    """The use is older than the program's undo window."""

    code = "benefit_undo_closed"
    message = _("This use can no longer be undone: the program allows {minutes} minutes.")


class UseOfAnotherStore(Forbidden):
    """A store-bound caller undoing a use made elsewhere."""

    code = "store_mismatch"
    message = _("This use was not made at store {store_code}: undo it there.")


@dataclass(frozen=True)
class GrantIn:
    """A benefit given to a tier: ``quota`` uses per ``period`` (None: no limit), a value."""

    tier_code: str
    quota: int | None
    period: Period
    value: int = 0


@dataclass(frozen=True)
class BenefitView:
    """A benefit with its grants by tier."""

    benefit: Benefit
    grants: list[GrantIn]

    @property
    def system(self) -> bool:
        """Whether the platform verifies it itself."""
        return is_system(BenefitKind(self.benefit.kind))


@dataclass(frozen=True)
class MemberBenefit:
    """A benefit the member's tier has, with what is left of it this period."""

    benefit: Benefit
    grant: GrantIn
    used: int
    left: int | None
    renews_at: datetime | None


@dataclass(frozen=True)
class UseResult:
    """A use as made (or undone), and what is left of the benefit this period."""

    external_id: str
    member_no: str
    benefit_code: str
    quantity: int
    used_at: datetime
    undone_at: datetime | None
    left: int | None


@dataclass(frozen=True)
class UseLine:
    """A use as a screen lists it: which benefit, where, and whether it may still be undone."""

    external_id: str
    benefit_code: str
    benefit_name: str
    quantity: int
    store_code: str | None
    used_at: datetime
    undone_at: datetime | None
    undo_reason: str
    undoable: bool


def tier_discount_rate(session: Session, *, program: ProgramConfig, tier_code: str) -> int:
    """The rate a member of ``tier_code`` pays at a checkout (10000: no tier discount).

    The tier discount is the system benefit of kind ``discount`` granted to the tier; its
    grant's value is the rate paid (9500 = 95 %).
    """
    rate = queries.discount_rate(session, program_id=program.id, tier_code=tier_code)
    return rules.WHOLE if rate is None else rate


def catalog(session: Session, *, program: ProgramConfig) -> list[BenefitView]:
    """Return every benefit of the program with its grants."""
    by_benefit: dict[int, list[GrantIn]] = {}
    for grant in queries.grants(session, program_id=program.id):
        by_benefit.setdefault(grant.benefit_id, []).append(
            GrantIn(grant.tier_code, grant.quota, Period(grant.period), grant.value)
        )
    return [
        BenefitView(benefit, by_benefit.get(benefit.id, []))
        for benefit in queries.benefits(session, program_id=program.id)
    ]


def _found(session: Session, program: ProgramConfig, code: str) -> Benefit:
    benefit = repository.by_code(session, program_id=program.id, code=code)
    if benefit is None:
        raise BenefitNotFound(code=code)
    return benefit


def define(
    session: Session,
    *,
    program: ProgramConfig,
    code: str,
    kind: BenefitKind,
    name: str,
    description: str = "",
    icon: str = "ti-gift",
) -> tuple[Benefit, bool]:
    """Define a benefit the merchant verifies itself (the system kinds exist already).

    Idempotent by code: the same definition again returns it (``False``: not made now); a
    different one under a code in use is refused.
    """
    if is_system(kind):
        raise SystemBenefit(code=code)
    there = repository.by_code(session, program_id=program.id, code=code)
    if there is not None:
        same = (there.kind, there.name, there.description, there.icon) == (
            kind,
            name,
            description,
            icon,
        )
        if not same:
            raise BenefitExists(code=code)
        return there, False
    made = repository.add(
        session,
        benefit=Benefit(
            program_id=program.id,
            code=code,
            kind=kind,
            name=name,
            description=description,
            icon=icon,
            active=True,
        ),
    )
    return made, True


def change(
    session: Session,
    *,
    program: ProgramConfig,
    code: str,
    name: str | None = None,
    description: str | None = None,
    icon: str | None = None,
    active: bool | None = None,
) -> Benefit:
    """Rename, re-describe or switch a benefit on or off (a system one is never off)."""
    benefit = _found(session, program, code)
    if active is False and is_system(BenefitKind(benefit.kind)):
        raise SystemBenefit(code=code)
    if name is not None:
        benefit.name = name
    if description is not None:
        benefit.description = description
    if icon is not None:
        benefit.icon = icon
    if active is not None:
        benefit.active = active
    session.flush()
    return benefit


def delete(session: Session, *, program: ProgramConfig, code: str) -> None:
    """Delete a merchant's benefit never used (a used one is switched off instead)."""
    benefit = _found(session, program, code)
    if is_system(BenefitKind(benefit.kind)):
        raise SystemBenefit(code=code)
    if repository.was_used(session, benefit_id=benefit.id):
        raise BenefitUsed(code=code)
    repository.remove(session, benefit=benefit)


def grant(
    session: Session, *, program: ProgramConfig, code: str, grants: Sequence[GrantIn]
) -> BenefitView:
    """Replace which tiers have a benefit, each with its quota, period and value."""
    benefit = _found(session, program, code)
    kind = BenefitKind(benefit.kind)
    if grants and is_system(kind) and not rules.is_applied(kind):
        # A grant nothing applies would promise members what no order gives them.
        raise InvalidBenefit(
            problem=Text(
                _(
                    "{name} is not applied at checkout yet (orders carry no member prices or "
                    "shipping fee), so it cannot be granted"
                ),
                name=benefit.name,
            )
        )
    tiers = {tier.code for tier in program.ladder.tiers}
    seen: set[str] = set()
    for given in grants:
        if given.tier_code not in tiers:
            raise InvalidBenefit(problem=Text(_("there is no tier {tier}"), tier=given.tier_code))
        if given.tier_code in seen:
            raise InvalidBenefit(
                problem=Text(_("tier {tier} is given twice"), tier=given.tier_code)
            )
        seen.add(given.tier_code)
        if given.quota is not None and given.quota < 1:
            raise InvalidBenefit(problem=Text(_("a quota is at least 1 (none: no limit)")))
        if benefit.kind == BenefitKind.discount and not 1 <= given.value <= rules.WHOLE:
            raise InvalidBenefit(
                problem=Text(_("a discount's value is the rate paid, 1 to 10000 (9500 = 95 %)"))
            )
    repository.replace_grants(
        session,
        program_id=program.id,
        benefit_id=benefit.id,
        grants=[(g.tier_code, g.quota, g.period, g.value) for g in grants],
    )
    return BenefitView(benefit, list(grants))


def _grant_of(view: BenefitView, tier_code: str) -> GrantIn | None:
    return next((g for g in view.grants if g.tier_code == tier_code), None)


def of_member(session: Session, *, program: ProgramConfig, member: Member) -> list[MemberBenefit]:
    """Return the benefits the member's tier has, with what is left of each this period."""
    now = utcnow()
    found = []
    for view in catalog(session, program=program):
        given = _grant_of(view, member.tier_code)
        if given is None or not view.benefit.active:
            continue
        window = rules.period_of(given.period, now, program.tz)
        start = member.tier_since if given.period is Period.once else window.start
        used = repository.used_in(
            session, member_id=member.id, benefit_id=view.benefit.id, period_start=start
        )
        found.append(
            MemberBenefit(view.benefit, given, used, rules.left(given.quota, used), window.end)
        )
    return found


def use(
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
) -> UseResult:
    """Verify (核销) ``quantity`` of a benefit for a member, within their tier's quota.

    Through the pipeline: the member is locked and must be active. A use is made now, never
    dated back: the quota period is the one holding the real moment on the program's clock,
    so a past period's unused quota cannot be spent late, and the undo window starts when the
    use was made. The caller makes it idempotent by ``external_id``; a second use with the same
    id is refused.
    """
    if not 1 <= quantity <= 100:
        raise InvalidBenefit(problem=Text(_("the quantity is 1 to 100")))
    timing = timing or Timing.live()
    at = timing.now

    def post(session: Session, applied: Applied) -> UseResult:
        member = applied.member
        benefit = _found(session, program, code)
        if is_system(BenefitKind(benefit.kind)):
            raise SystemBenefit(code=code)
        if not benefit.active:
            raise BenefitInactive(code=code)
        row = repository.grant_for(session, benefit_id=benefit.id, tier_code=member.tier_code)
        if row is None:
            raise NotGranted(tier=member.tier_code, code=code)
        given = GrantIn(row.tier_code, row.quota, Period(row.period), row.value)
        if repository.use_exists(session, program_id=program.id, external_id=external_id):
            raise Conflict()  # the idempotent runner answers a true repeat before this
        window = rules.period_of(given.period, applied.at, program.tz)
        start = _period_start(session, given, member.id, applied.at, program)
        used = repository.used_in(
            session, member_id=member.id, benefit_id=benefit.id, period_start=start
        )
        left = rules.left(given.quota, used)
        if left is not None and quantity > left:
            renews = window.end.astimezone(program.tz).date().isoformat() if window.end else ""
            raise QuotaExhausted(
                None if window.end else QuotaExhausted.once,
                code=code,
                left=left,
                quota=given.quota,
                quantity=quantity,
                renews=renews,
            )
        store_id = (
            store_service.active_store_id(session, program_id=program.id, code=store_code)
            if store_code
            else None
        )
        made = repository.record_use(
            session,
            program_id=program.id,
            benefit_id=benefit.id,
            member_id=member.id,
            store_id=store_id,
            external_id=external_id,
            tier_code=member.tier_code,
            quantity=quantity,
            period_start=start,
            used_at=applied.at,
            actor=actor,
            undo_reason="",
        )
        still = None if left is None else left - quantity
        events.emit(
            session,
            program_id=program.id,
            type=events.EventType.benefit_used,
            member_id=member.id,
            occurred_at=applied.at,
            payload={
                "external_id": external_id,
                "benefit": code,
                "quantity": quantity,
                "store_code": store_code,
                "tier": member.tier_code,
                "left": still,
            },
        )
        return _result(made, member.member_no, code, still)

    _applied, result = pipeline.apply(
        session,
        program=program,
        kind=EventKind.benefit_use,
        key=keys.benefit_use(external_id),
        member=MemberRef(member_no=member_no),
        timing=timing,
        at=at,
        post=post,
        requires=Requires.active,
    )
    return result


def undo(
    session: Session,
    *,
    program: ProgramConfig,
    member_no: str,
    external_id: str,
    reason: str,
    store_code: str | None,
    timing: Timing | None = None,
) -> UseResult:
    """Undo a use within the program's undo window, with a reason; its quota comes back.

    Undoing a use already undone changes nothing and answers the same. ``store_code`` is a
    store-bound caller's store: it undoes only uses made there.
    """
    timing = timing or Timing.live()
    window = program.section(BENEFITS).undo_window

    def post(session: Session, applied: Applied) -> UseResult:
        found = repository.use_of(session, program_id=program.id, external_id=external_id)
        if found is None or found.member_id != applied.member.id:
            raise UseNotFound(member_no=applied.member.member_no, external_id=external_id)
        if store_code is not None:
            store_id = store_service.active_store_id(
                session, program_id=program.id, code=store_code
            )
            if found.store_id != store_id:
                raise UseOfAnotherStore(store_code=store_code)
        benefit = session.get(Benefit, found.benefit_id)
        assert benefit is not None
        if found.undone_at is None:
            if not rules.may_undo(found.used_at, timing.now, window=window):
                raise UndoClosed(minutes=program.section(BENEFITS).undo_minutes)
            repository.mark_undone(session, use_id=found.id, at=timing.now, reason=reason)
            session.refresh(found)
            events.emit(
                session,
                program_id=program.id,
                type=events.EventType.benefit_use_undone,
                member_id=applied.member.id,
                occurred_at=timing.now,
                payload={
                    "external_id": external_id,
                    "benefit": benefit.code,
                    "quantity": found.quantity,
                    "reason": reason,
                },
            )
        row = repository.grant_for(
            session, benefit_id=benefit.id, tier_code=applied.member.tier_code
        )
        left = None
        if row is not None and row.quota is not None:
            given = GrantIn(row.tier_code, row.quota, Period(row.period), row.value)
            used = repository.used_in(
                session,
                member_id=applied.member.id,
                benefit_id=benefit.id,
                period_start=_period_start(session, given, applied.member.id, timing.now, program),
            )
            left = rules.left(given.quota, used)
        return _result(found, applied.member.member_no, benefit.code, left)

    _applied, result = pipeline.apply(
        session,
        program=program,
        kind=EventKind.benefit_undo,
        key=keys.benefit_undo(external_id),
        member=MemberRef(member_no=member_no),
        timing=timing,
        at=timing.now,
        post=post,
        requires=Requires.any,
    )
    return result


def uses(
    session: Session,
    *,
    program: ProgramConfig,
    member: Member,
    store_code: str | None = None,
    limit: int = 20,
) -> list[UseLine]:
    """Return the member's latest uses (at ``store_code`` only, if given), newest first.

    ``undoable`` says whether :func:`undo` would undo it now: not undone, within the window.
    """
    now = utcnow()
    window = program.section(BENEFITS).undo_window
    return [
        UseLine(
            external_id=use.external_id,
            benefit_code=code,
            benefit_name=name,
            quantity=use.quantity,
            store_code=store,
            used_at=use.used_at,
            undone_at=use.undone_at,
            undo_reason=use.undo_reason,
            undoable=use.undone_at is None and rules.may_undo(use.used_at, now, window=window),
        )
        for use, code, name, store in queries.recent_uses(
            session, member_id=member.id, store_code=store_code, limit=limit
        )
    ]


def _period_start(
    session: Session, given: GrantIn, member_id: int, at: datetime, program: ProgramConfig
) -> datetime | None:
    """The start of the quota period holding ``at`` (for ``once``: when the tier was reached)."""
    if given.period is Period.once:
        return repository.tier_since(session, member_id=member_id)
    return rules.period_of(given.period, at, program.tz).start


def _result(use: BenefitUse, member_no: str, code: str, left: int | None) -> UseResult:
    return UseResult(
        external_id=use.external_id,
        member_no=member_no,
        benefit_code=code,
        quantity=use.quantity,
        used_at=use.used_at,
        undone_at=use.undone_at,
        left=left,
    )
