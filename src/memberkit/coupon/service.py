"""Coupon use cases: define templates, issue coupons by every path, revoke, read, report.

Every coupon is issued through :func:`issue`, whatever the path (by hand, a bulk batch, a
partner's codes, registration, an upgrade, a birthday): the member's row is locked, a replay
of the same (template, member, batch key) answers the coupon already issued, the per-member
limit is counted under that lock, and the budget is consumed by one conditional UPDATE — so
two tills issuing the last unit at once get one coupon and one ``coupon_budget_spent``.

Once a template has issued coupons its terms (what a coupon gives, where, when and with
what) are frozen: a held coupon reads them at checkout, so changing them would change what
members already hold. Its name, description, switch, budgets, per-member limit and what it
is given on by itself may still change (a change of terms is a 409 ``coupon_template_issued``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from memberkit import events
from memberkit.coupon import queries, repository
from memberkit.coupon.models import (
    BatchState,
    Coupon,
    CouponBatch,
    CouponSource,
    CouponStatus,
    CouponTemplate,
)
from memberkit.coupon.rules import WHOLE, CouponKind, new_code, normalize_code
from memberkit.coupon.terms import SCOPE_FIELDS
from memberkit.db import Database
from memberkit.errors import Conflict, InvalidInput, MemberkitError, NotFound
from memberkit.kit.i18n import Text, _
from memberkit.kit.schemas import has_control_characters
from memberkit.kit.time import iso, start_of_local_day, utcnow
from memberkit.member import service as member_service
from memberkit.member.models import Member
from memberkit.member.rules import mask_phone, normalize_phone, valid_member_no
from memberkit.program import service as program_service
from memberkit.program.service import ProgramConfig
from memberkit.store import repository as store_repository

#: The most days a coupon may last after issue, and the most entries of one scope list.
MAX_VALID_DAYS = 3650
MAX_SCOPE_ENTRIES = 200
#: The most rows of one bulk issue or one import of codes.
MAX_ROWS = 50_000
#: How many refusals a batch keeps row by row (the rest are only counted).
MAX_PROBLEMS = 200
#: Members handled per transaction of a bulk issue (its progress is saved after each).
CHUNK = 100
#: A registration older than this is history (an import): it gets no welcome coupons.
WELCOME_WINDOW = timedelta(days=1)
#: Who issues coupons the platform gives by itself.
SYSTEM_ACTOR = "system"


class TemplateNotFound(NotFound):
    """No template of the program has that code."""

    code = "coupon_template_not_found"
    message = _("There is no coupon template {code}.")


class TemplateExists(Conflict):
    """A template with that code exists already, with other terms."""

    code = "coupon_template_exists"
    message = _("A coupon template {code} exists already.")


class InvalidTemplate(InvalidInput):
    """Terms no template may have."""

    code = "invalid_coupon_template"
    message = _("Invalid coupon template: {problem}")


class TemplateIssued(Conflict):
    """The terms of a template that has issued coupons are frozen."""

    code = "coupon_template_issued"
    message = _(
        "Coupon template {code} has issued {issued} coupons: its terms ({fields}) can no "
        "longer change. Make a new template instead."
    )


class TemplateInactive(Conflict):
    """The template is switched off."""

    code = "coupon_template_inactive"
    message = _("Coupon template {code} is switched off.")


class TemplateLapsed(Conflict):
    """The template's fixed validity is over: a coupon issued now could never be used."""

    code = "coupon_template_lapsed"
    message = _("Coupon template {code} was valid until {until}: it can no longer be issued.")


class BudgetSpent(Conflict):
    """The template has issued all the coupons its budget allows."""

    code = "coupon_budget_spent"
    message = _("Coupon template {code} has issued all {budget} coupons of its budget.")


class MemberLimit(Conflict):
    """The member holds as many coupons of the template as one member may."""

    code = "coupon_member_limit"
    message = _("Member {member_no} holds {held} coupons of {code}: at most {limit} per member.")


class CodeTaken(Conflict):
    """An imported code the program already has."""

    code = "coupon_code_taken"
    message = _("The program has a coupon with code {coupon} already.")


class CouponNotFound(NotFound):
    """No coupon of the program has that code."""

    code = "coupon_not_found"
    message = _("There is no coupon {coupon}.")


class NotRevocable(Conflict):
    """A used coupon is kept: it was used, revoking it would rewrite history."""

    code = "coupon_not_revocable"
    message = _("Coupon {coupon} was used: only an available coupon can be revoked.")


class BatchNotFound(NotFound):
    """No batch of the program has that id."""

    code = "coupon_batch_not_found"
    message = _("There is no coupon batch {batch}.")


class BatchExists(Conflict):
    """A batch with that external id exists already, for something else."""

    code = "coupon_batch_exists"
    message = _("A coupon batch {external_id} exists already, with other content.")


class InvalidBatch(InvalidInput):
    """A bulk issue or import that does not make sense."""

    code = "invalid_coupon_batch"
    message = _("Invalid coupon batch: {problem}")


#: The fields of a template's terms: what a held coupon gives, where, when and with what.
TERMS_FIELDS = (
    "kind",
    "off_minor",
    "threshold_minor",
    "percent_bp",
    "cap_minor",
    "gift_sku",
    "min_spend_minor",
    "scope",
    "with_coupons",
    "with_tier_discount",
    "with_points",
    "valid_from",
    "valid_until",
    "valid_days",
    "return_on_refund",
)


@dataclass(frozen=True)
class TemplateIn:
    """A template as the merchant gives it; dates are local days of the program.

    ``valid_from``/``valid_until`` are the first and the last day (inclusive) of a fixed
    validity; ``valid_days`` a validity counted from the day of issue (that day is the
    first), with ``valid_until`` as an optional last day for all.
    """

    kind: CouponKind
    name: str
    description: str = ""
    off_minor: int = 0
    threshold_minor: int = 0
    percent_bp: int = 0
    cap_minor: int | None = None
    gift_sku: str | None = None
    min_spend_minor: int = 0
    scope: Mapping[str, Sequence[str]] = field(default_factory=dict)
    with_coupons: bool = False
    with_tier_discount: bool = True
    with_points: bool = True
    valid_from: date | None = None
    valid_until: date | None = None
    valid_days: int | None = None
    per_member_limit: int | None = None
    budget_count: int | None = None
    budget_minor: int | None = None
    return_on_refund: bool = True
    active: bool = True
    on_registration: bool = False
    on_upgrade_tier: str | None = None
    on_birthday: bool = False


@dataclass(frozen=True)
class Issued:
    """A coupon as issued, and whether this call issued it (False: a replay)."""

    coupon: Coupon
    template: CouponTemplate
    created: bool


# --- templates ------------------------------------------------------------------------------


def catalog(session: Session, *, program: ProgramConfig) -> list[CouponTemplate]:
    """Return every template of the program, newest first."""
    return queries.templates(session, program_id=program.id)


def found(session: Session, *, program: ProgramConfig, code: str) -> CouponTemplate:
    """Return the program's template with this code, or refuse (404)."""
    template = repository.template_by_code(session, program_id=program.id, code=code)
    if template is None:
        raise TemplateNotFound(code=code)
    return template


def terms_of(template: CouponTemplate, program: ProgramConfig) -> TemplateIn:
    """Return a template as the merchant gave it (instants back to local days)."""
    tz = program.tz
    last = (
        (template.valid_until.astimezone(tz) - timedelta(days=1)).date()
        if template.valid_until
        else None
    )
    return TemplateIn(
        kind=CouponKind(template.kind),
        name=template.name,
        description=template.description,
        off_minor=template.off_minor,
        threshold_minor=template.threshold_minor,
        percent_bp=template.percent_bp,
        cap_minor=template.cap_minor,
        gift_sku=template.gift_sku,
        min_spend_minor=template.min_spend_minor,
        scope={name: list(values) for name, values in (template.scope or {}).items()},
        with_coupons=template.with_coupons,
        with_tier_discount=template.with_tier_discount,
        with_points=template.with_points,
        valid_from=template.valid_from.astimezone(tz).date() if template.valid_from else None,
        valid_until=last,
        valid_days=template.valid_days,
        per_member_limit=template.per_member_limit,
        budget_count=template.budget_count,
        budget_minor=template.budget_minor,
        return_on_refund=template.return_on_refund,
        active=template.active,
        on_registration=template.on_registration,
        on_upgrade_tier=template.on_upgrade_tier,
        on_birthday=template.on_birthday,
    )


def _refuse(problem: str, **params: Any) -> InvalidTemplate:
    return InvalidTemplate(problem=Text(problem, **params))


def _checked(session: Session, program: ProgramConfig, given: TemplateIn) -> dict[str, Any]:
    """Check ``given`` in full and return the template's column values, or refuse (422)."""
    kind = given.kind
    if not given.name.strip():
        raise _refuse(_("a template has a name"))
    if kind is CouponKind.free_shipping:
        # Orders carry no shipping fee yet: such a coupon would be held and never apply.
        raise _refuse(
            _("free-shipping coupons are not available yet: orders carry no shipping fee")
        )
    if kind in (CouponKind.amount_off, CouponKind.cash) and given.off_minor < 1:
        raise _refuse(_("an amount-off or cash coupon takes off an amount above zero"))
    if kind not in (CouponKind.amount_off, CouponKind.cash) and given.off_minor:
        raise _refuse(_("only an amount-off or cash coupon takes off a fixed amount"))
    if kind is CouponKind.amount_off and given.threshold_minor < given.off_minor:
        raise _refuse(_("an amount-off coupon's threshold is at least the amount it takes off"))
    if kind is not CouponKind.amount_off and given.threshold_minor:
        raise _refuse(_("only an amount-off coupon has a threshold (use the minimum spend)"))
    if kind is CouponKind.percent_off and not 1 <= given.percent_bp <= WHOLE:
        raise _refuse(_("a percent-off coupon takes 1 to 10000 basis points (1500 = 15 % off)"))
    if kind is not CouponKind.percent_off and (given.percent_bp or given.cap_minor is not None):
        raise _refuse(_("only a percent-off coupon has a percentage and a cap"))
    if given.cap_minor is not None and given.cap_minor < 1:
        raise _refuse(_("a cap is above zero (none: no cap)"))
    if kind is CouponKind.gift and not given.gift_sku:
        raise _refuse(_("a gift coupon names the SKU it gives"))
    if kind is not CouponKind.gift and given.gift_sku:
        raise _refuse(_("only a gift coupon names a SKU to give"))
    if min(given.off_minor, given.threshold_minor, given.min_spend_minor) < 0:
        raise _refuse(_("amounts are never negative"))
    scope = _checked_scope(session, program, given.scope)
    valid_from, valid_until = _checked_validity(program, given)
    for name, limit in (
        ("per_member_limit", given.per_member_limit),
        ("budget_count", given.budget_count),
        ("budget_minor", given.budget_minor),
    ):
        if limit is not None and limit < 1:
            raise _refuse(_("{name} is at least 1 (none: no limit)"), name=name)
    if given.on_upgrade_tier is not None:
        if not program.ladder.has(given.on_upgrade_tier):
            raise _refuse(_("there is no tier {tier}"), tier=given.on_upgrade_tier)
        if given.on_upgrade_tier == program.ladder.entry.code:
            raise _refuse(
                _("nobody is upgraded to the entry tier {tier}"), tier=given.on_upgrade_tier
            )
    return {
        "name": given.name.strip(),
        "description": given.description.strip(),
        "kind": str(kind),
        "off_minor": given.off_minor,
        "threshold_minor": given.threshold_minor,
        "percent_bp": given.percent_bp,
        "cap_minor": given.cap_minor,
        "gift_sku": given.gift_sku or None,
        "min_spend_minor": given.min_spend_minor,
        "scope": scope,
        "with_coupons": given.with_coupons,
        "with_tier_discount": given.with_tier_discount,
        "with_points": given.with_points,
        "valid_from": valid_from,
        "valid_until": valid_until,
        "valid_days": given.valid_days,
        "per_member_limit": given.per_member_limit,
        "budget_count": given.budget_count,
        "budget_minor": given.budget_minor,
        "return_on_refund": given.return_on_refund,
        "active": given.active,
        "on_registration": given.on_registration,
        "on_upgrade_tier": given.on_upgrade_tier,
        "on_birthday": given.on_birthday,
    }


def _checked_scope(
    session: Session, program: ProgramConfig, given: Mapping[str, Sequence[str]]
) -> dict[str, list[str]]:
    scope: dict[str, list[str]] = {}
    for name, values in given.items():
        if name not in SCOPE_FIELDS:
            raise _refuse(_("there is no scope list {name}"), name=name)
        entries = sorted({str(value).strip() for value in values if str(value).strip()})
        if len(entries) > MAX_SCOPE_ENTRIES:
            raise _refuse(_("a scope list holds at most {limit} entries"), limit=MAX_SCOPE_ENTRIES)
        for entry in entries:
            if len(entry) > 64 or has_control_characters(entry):
                raise _refuse(
                    _("{entry} is not a store, channel, category or SKU"), entry=entry[:64]
                )
        if entries:
            scope[name] = entries
    for name in ("stores", "exclude_stores"):
        for code in scope.get(name, []):
            if store_repository.by_code(session, program_id=program.id, code=code) is None:
                raise _refuse(_("there is no store {store}"), store=code)
    for kept in ("stores", "categories", "skus"):
        both = set(scope.get(kept, [])) & set(scope.get(f"exclude_{kept}", []))
        if both:
            raise _refuse(_("{entry} is both included and excluded"), entry=", ".join(sorted(both)))
    return scope


def _checked_validity(
    program: ProgramConfig, given: TemplateIn
) -> tuple[datetime | None, datetime | None]:
    """The validity's instants (UTC): the first day's start, the start of the day after the last."""
    tz = program.tz
    if given.valid_days is not None:
        if given.valid_from is not None:
            raise _refuse(_("a validity is fixed days or a number of days after issue, not both"))
        if not 1 <= given.valid_days <= MAX_VALID_DAYS:
            raise _refuse(_("a coupon lasts 1 to {days} days after issue"), days=MAX_VALID_DAYS)
    elif given.valid_from is None or given.valid_until is None:
        raise _refuse(_("a validity is a first and a last day, or a number of days after issue"))
    if given.valid_from is not None and given.valid_until is not None:
        if given.valid_until < given.valid_from:
            raise _refuse(_("the last day of validity comes before the first"))
    start = start_of_local_day(given.valid_from, tz) if given.valid_from else None
    end = (
        start_of_local_day(given.valid_until + timedelta(days=1), tz) if given.valid_until else None
    )
    return start, end


def define(
    session: Session, *, program: ProgramConfig, code: str, given: TemplateIn
) -> tuple[CouponTemplate, bool]:
    """Define a template, checked in full. Idempotent by code: the same again returns it."""
    values = _checked(session, program, given)
    there = repository.template_by_code(session, program_id=program.id, code=code)
    if there is not None:
        if any(getattr(there, name) != value for name, value in values.items()):
            raise TemplateExists(code=code)
        return there, False
    made = repository.add_template(
        session, template=CouponTemplate(program_id=program.id, code=code, **values)
    )
    return made, True


def change(
    session: Session, *, program: ProgramConfig, code: str, changes: Mapping[str, Any]
) -> CouponTemplate:
    """Change a template's fields named in ``changes`` (the fields of :class:`TemplateIn`).

    The whole template is checked again; once it has issued coupons a change of its terms is
    refused (409 ``coupon_template_issued``), and its budget never goes below what it used.
    """
    template = found(session, program=program, code=code)
    known = {f.name for f in fields(TemplateIn)}
    unknown = set(changes) - known
    if unknown:
        raise _refuse(_("there is no field {name}"), name=", ".join(sorted(unknown)))
    given = replace(terms_of(template, program), **changes)
    values = _checked(session, program, given)
    if template.issued:
        moved = [name for name in TERMS_FIELDS if getattr(template, name) != values[name]]
        if moved:
            raise TemplateIssued(code=code, issued=template.issued, fields=", ".join(moved))
    if values["budget_count"] is not None and values["budget_count"] < template.issued:
        raise _refuse(
            _("the budget cannot go below the {issued} coupons issued"), issued=template.issued
        )
    if values["budget_minor"] is not None and values["budget_minor"] < template.discount_used_minor:
        raise _refuse(_("the budget cannot go below the discount already given"))
    for name, value in values.items():
        setattr(template, name, value)
    session.flush()
    return template


# --- issuing --------------------------------------------------------------------------------


def window(
    template: CouponTemplate, at: datetime, program: ProgramConfig
) -> tuple[datetime, datetime]:
    """When a coupon of ``template`` issued at ``at`` may be used ([from, until), UTC).

    ``valid_days`` counts the day of issue (local) as the first, whole: the coupon is valid
    from that day's local midnight, so an order of the same day rung up by a till whose clock
    runs a little behind (or in whole seconds) is not refused as "not yet valid". A template's
    last day caps it.
    """
    if template.valid_days is not None:
        issued_on = at.astimezone(program.tz).date()
        until = start_of_local_day(issued_on + timedelta(days=template.valid_days), program.tz)
        if template.valid_until is not None:
            until = min(until, template.valid_until)
        return start_of_local_day(issued_on, program.tz), until
    assert template.valid_from is not None and template.valid_until is not None
    return template.valid_from, template.valid_until


def issue(
    session: Session,
    *,
    program: ProgramConfig,
    template: CouponTemplate,
    member_id: int | None,
    batch_key: str,
    source: CouponSource,
    actor: str,
    code: str | None = None,
    at: datetime | None = None,
) -> Issued:
    """Issue one coupon of ``template`` to a member (or, for a partner's code, to nobody yet).

    The one way a coupon is made. Under the member's row lock: the same (template, member,
    ``batch_key``) again answers the coupon issued then (``created`` False), whatever changed
    since; the member must be active; the per-member limit is counted; then the budget is
    consumed by one conditional UPDATE (409 ``coupon_budget_spent`` when it is spent). A
    refusal raises before anything is written. ``code`` is a partner's code kept as given;
    otherwise a new one is drawn. Emits ``coupon.issued``.
    """
    now = at or utcnow()
    member_no: str | None = None
    if member_id is not None:
        locked = member_service.lock_for_posting(
            session, program_id=program.id, member_id=member_id
        )
        member_no = locked.member_no
    replay = repository.coupon_for(
        session, template_id=template.id, member_id=member_id, batch_key=batch_key
    )
    if replay is not None:
        return Issued(replay, template, False)
    if member_id is not None:
        member_service.require_active(locked)
    if not template.active:
        raise TemplateInactive(code=template.code)
    valid_from, valid_until = window(template, now, program)
    if valid_until <= now:
        last = (valid_until.astimezone(program.tz) - timedelta(days=1)).date()
        raise TemplateLapsed(code=template.code, until=last.isoformat())
    if member_id is not None and template.per_member_limit is not None:
        held = repository.held_count(session, template_id=template.id, member_id=member_id)
        if held >= template.per_member_limit:
            raise MemberLimit(
                member_no=member_no, held=held, code=template.code, limit=template.per_member_limit
            )
    if code is not None and any(
        repository.code_taken(session, program_id=program.id, code=spelling)
        for spelling in {code, normalize_code(code) or code}
    ):
        # Taken also when it reads as another coupon's code (a till normalizes what is typed).
        raise CodeTaken(coupon=code)
    if not repository.consume_budget(session, template_id=template.id):
        raise BudgetSpent(code=template.code, budget=template.budget_count)
    session.expire(template, ["issued"])
    values = {
        "program_id": program.id,
        "template_id": template.id,
        "member_id": member_id,
        "status": CouponStatus.available,
        "source": source,
        "batch_key": batch_key,
        "valid_from": valid_from,
        "valid_until": valid_until,
        "issued_at": now,
        "actor": actor[:100],
        "revoke_reason": "",
    }
    made = None
    for _attempt in range(1 if code is not None else 10):
        made = repository.insert_coupon(session, values={**values, "code": code or new_code()})
        if made is not None:
            break
    if made is None:  # a code taken meanwhile (imports), or ten drawn codes all taken
        raise CodeTaken(coupon=code or "")
    events.emit(
        session,
        program_id=program.id,
        type=events.EventType.coupon_issued,
        member_id=member_id,
        occurred_at=now,
        payload={
            "code": made.code,
            "template": template.code,
            "kind": template.kind,
            "source": str(source),
            "valid_from": iso(made.valid_from, program.tz),
            "valid_until": iso(made.valid_until, program.tz),
        },
    )
    return Issued(made, template, True)


def codes_under(session: Session, *, program: ProgramConfig, batch_prefix: str) -> list[str]:
    """The codes of coupons issued under one prefix of batch keys (a redemption's)."""
    return queries.codes_under(session, program_id=program.id, batch_prefix=batch_prefix)


def issue_by_hand(
    session: Session,
    *,
    program: ProgramConfig,
    template_code: str,
    member_no: str,
    external_id: str,
    actor: str,
) -> Issued:
    """Issue a coupon to one member by hand; idempotent by ``external_id`` (batch ``hand:<id>``)."""
    template = found(session, program=program, code=template_code)
    member = member_service.find(session, program_id=program.id, member_no=member_no)
    return issue(
        session,
        program=program,
        template=template,
        member_id=member.id,
        batch_key=f"hand:{external_id}",
        source=CouponSource.hand,
        actor=actor,
    )


def revoke(
    session: Session, *, program: ProgramConfig, code: str, reason: str, actor: str
) -> Coupon:
    """Revoke an available coupon, with a reason; revoking it again changes nothing.

    A used coupon is refused (409 ``coupon_not_revocable``). Its unit of budget is not given
    back (the budget counts coupons issued). Emits ``coupon.revoked``.
    """
    coupon = repository.coupon_by_code(session, program_id=program.id, code=code)
    if coupon is None:
        raise CouponNotFound(coupon=code)
    if coupon.member_id is not None:
        member_service.lock_for_posting(session, program_id=program.id, member_id=coupon.member_id)
    session.refresh(coupon)
    if coupon.status == CouponStatus.revoked:
        return coupon
    now = utcnow()
    if not repository.mark_revoked(session, coupon_id=coupon.id, at=now, reason=reason):
        raise NotRevocable(coupon=code)
    session.refresh(coupon)
    template = session.get(CouponTemplate, coupon.template_id)
    assert template is not None
    events.emit(
        session,
        program_id=program.id,
        type=events.EventType.coupon_revoked,
        member_id=coupon.member_id,
        occurred_at=now,
        payload={"code": coupon.code, "template": template.code, "reason": reason, "by": actor},
    )
    return coupon


def _quietly(session: Session, **given: Any) -> Issued | MemberkitError:
    """:func:`issue` in a savepoint: a refusal is answered, and leaves the caller's work whole."""
    try:
        with session.begin_nested():
            return issue(session, **given)
    except MemberkitError as refused:
        return refused


def welcome(session: Session, *, member: Member, registered_at: datetime) -> None:
    """Give a new member the templates flagged for registration (新人礼), one each.

    A registration reaction (:mod:`memberkit.reactions`): in the registration's transaction,
    batch key ``registration``. A template that refuses (spent, off, lapsed) is skipped and
    never fails the registration; a registration dated back past a day (an import of
    history) gets none.
    """
    if utcnow() - registered_at > WELCOME_WINDOW:
        return
    gifts = repository.flagged(session, program_id=member.program_id, on_registration=True)
    if not gifts:
        return
    program = program_service.by_id(session, member.program_id)
    for template in gifts:
        _quietly(
            session,
            program=program,
            template=template,
            member_id=member.id,
            batch_key="registration",
            source=CouponSource.registration,
            actor=SYSTEM_ACTOR,
        )


def gift_on_upgrade(session: Session, applied: Any) -> None:
    """React to an upgrade: give the templates flagged for each tier the member reached.

    A pipeline reaction (:mod:`memberkit.reactions`), after the tier reactions: ``applied`` is
    the event (:class:`memberkit.pipeline.Applied`). Each tier above the one held before, up to
    the new one, counts as reached; batch key ``upgrade:<tier>``, so a member who falls back
    and climbs again gets each tier's gift once. A template that refuses is skipped and never
    fails the order.
    """
    outcome = applied.tier
    if outcome is None or not outcome.upgraded:
        return
    program: ProgramConfig = applied.program
    ladder = program.ladder
    before = (
        ladder.tier(applied.member.tier_code).level if ladder.has(applied.member.tier_code) else 0
    )
    reached = frozenset(t.code for t in ladder.tiers if before < t.level <= outcome.level)
    if not reached:
        return
    for template in repository.flagged(session, program_id=program.id, on_upgrade_tiers=reached):
        _quietly(
            session,
            program=program,
            template=template,
            member_id=applied.member.id,
            batch_key=f"upgrade:{template.on_upgrade_tier}",
            source=CouponSource.upgrade,
            actor=SYSTEM_ACTOR,
            at=applied.now,
        )


@dataclass(frozen=True)
class BirthdayResult:
    """What the birthday job did: members whose birthday it is, coupons given, refused."""

    members: int
    issued: int
    refused: int


def birthday_of(birthday: date, year: int) -> date:
    """A birthday's day in ``year`` (29 February: the 28th in a common year)."""
    try:
        return birthday.replace(year=year)
    except ValueError:
        return date(year, 2, 28)


def give_birthday_gifts(
    database: Database, *, program: ProgramConfig, as_of: datetime, dry_run: bool = False
) -> BirthdayResult:
    """Give each active member whose birthday is the local day of ``as_of`` the birthday gifts.

    Once per member per year (batch key ``birthday:<year>``), one transaction per member, so
    a rerun gives nothing twice. Birthdays are sealed: each member's is opened to compare.
    """
    day = as_of.astimezone(program.tz).date()
    with database.session_scope(read_only=True) as session:
        gifts = [t.id for t in repository.flagged(session, program_id=program.id, on_birthday=True)]
        if not gifts:
            return BirthdayResult(0, 0, 0)
        celebrating = []
        for member in queries.members_with_birthdays(session, program_id=program.id):
            raw = member_service.personal(member)["birthday"]
            if raw and birthday_of(date.fromisoformat(raw), day.year) == day:
                celebrating.append(member.id)
    issued = refused = 0
    for member_id in celebrating:
        with database.session_scope(rollback=dry_run) as session:
            for template_id in gifts:
                template = session.get(CouponTemplate, template_id)
                assert template is not None
                result = _quietly(
                    session,
                    program=program,
                    template=template,
                    member_id=member_id,
                    batch_key=f"birthday:{day.year}",
                    source=CouponSource.birthday,
                    actor=SYSTEM_ACTOR,
                    at=as_of,
                )
                if isinstance(result, Issued):
                    issued += result.created
                else:
                    refused += 1
    return BirthdayResult(len(celebrating), issued, refused)


# --- bulk issues and imports ----------------------------------------------------------------


def _member_id(session: Session, program: ProgramConfig, identifier: str) -> int | None:
    """The member named by a card number or a phone, or None."""
    if valid_member_no(identifier):
        try:
            return member_service.find(session, program_id=program.id, member_no=identifier).id
        except member_service.MemberNotFound:
            pass
    phone = normalize_phone(identifier)
    if phone is None:
        return None
    try:
        return member_service.find(session, program_id=program.id, phone=phone).id
    except member_service.MemberNotFound:
        return None


def _problem(row: int, identifier: str, code: str) -> dict[str, Any]:
    return {"row": row, "identifier": identifier[:40], "code": code}


def _shown_identifier(identifier: str) -> str:
    """A row's card number as given, a phone masked (a batch keeps no phone in clear)."""
    identifier = identifier.strip()[:40]
    return identifier if valid_member_no(identifier) else mask_phone(identifier)


def start_batch(
    session: Session,
    *,
    program: ProgramConfig,
    template_code: str,
    external_id: str,
    actor: str,
    identifiers: Sequence[str] | None = None,
    wanted: queries.MemberFilter | None = None,
) -> tuple[CouponBatch, bool]:
    """Record a bulk issue to a list of card numbers or phones, or to a filter of members.

    The members are resolved now (a row naming nobody is counted failed, a member named
    twice skipped) and kept in the batch, which :func:`run_batch` then works through.
    Idempotent by ``external_id``: the same batch again answers it (``False``: not made now).
    """
    template = found(session, program=program, code=template_code)
    # A list is kept as its digest: it may hold phone numbers, never stored in clear.
    spec: dict[str, Any] = (
        {
            "list": hashlib.sha256("\n".join(identifiers).encode()).hexdigest(),
            "rows": len(identifiers),
        }
        if identifiers is not None
        else {
            "filter": {
                "tier": wanted.tier_code if wanted else None,
                "tag": wanted.tag if wanted else None,
                "store": wanted.store_code if wanted else None,
                "since": wanted.since.isoformat() if wanted and wanted.since else None,
                "until": wanted.until.isoformat() if wanted and wanted.until else None,
            }
        }
    )
    there = repository.batch_by_external_id(session, program_id=program.id, external_id=external_id)
    if there is not None:
        if there.template_id != template.id or same_batch_spec(there) != spec:
            raise BatchExists(external_id=external_id)
        return there, False
    if not template.active:
        raise TemplateInactive(code=template.code)
    problems: list[dict[str, Any]] = []
    member_ids: list[int] = []
    skipped = failed = 0
    if identifiers is not None:
        if not identifiers:
            raise InvalidBatch(problem=Text(_("the list names no member")))
        if len(identifiers) > MAX_ROWS:
            raise InvalidBatch(problem=Text(_("at most {rows} rows"), rows=MAX_ROWS))
        seen: set[int] = set()
        for row, identifier in enumerate(identifiers, start=1):
            member_id = _member_id(session, program, identifier.strip())
            if member_id is None:
                failed += 1
                if len(problems) < MAX_PROBLEMS:
                    problems.append(
                        _problem(row, _shown_identifier(identifier), "member_not_found")
                    )
            elif member_id in seen:
                skipped += 1
                if len(problems) < MAX_PROBLEMS:
                    problems.append(_problem(row, _shown_identifier(identifier), "duplicate_row"))
            else:
                seen.add(member_id)
                member_ids.append(member_id)
        total = len(identifiers)
    else:
        member_ids = queries.member_ids(
            session, program_id=program.id, wanted=wanted or queries.MemberFilter()
        )
        total = len(member_ids)
    resolved_out = total - len(member_ids)
    batch = repository.add_batch(
        session,
        batch=CouponBatch(
            program_id=program.id,
            template_id=template.id,
            external_id=external_id,
            kind="list" if identifiers is not None else "filter",
            spec=spec | {"unresolved": resolved_out},
            member_ids=member_ids,
            state=BatchState.pending if member_ids else BatchState.done,
            total=total,
            done=resolved_out,
            issued=0,
            skipped=skipped,
            failed=failed,
            problems=problems,
            actor=actor[:100],
            finished_at=None if member_ids else utcnow(),
        ),
    )
    return batch, True


def same_batch_spec(batch: CouponBatch) -> dict[str, Any]:
    """What was asked of a batch (its spec without what resolving found)."""
    return {name: value for name, value in batch.spec.items() if name != "unresolved"}


def run_batch(database: Database, *, program: ProgramConfig, batch_id: int) -> CouponBatch:
    """Work through a batch's members from where it stands, :data:`CHUNK` per transaction.

    Each coupon is issued with the batch key ``batch:<id>``; a chunk and the progress it made
    commit together, so a run cut short resumes exactly, and a member handled again (a
    second runner, a rerun) is counted skipped, never given a second coupon.
    """
    while True:
        with database.session_scope() as session:
            batch = repository.lock_batch(session, batch_id=batch_id)
            if batch is None:
                raise BatchNotFound(batch=batch_id)
            if batch.state in (BatchState.done, BatchState.failed):
                session.expunge(batch)
                return batch
            template = session.get(CouponTemplate, batch.template_id)
            assert template is not None
            start = batch.done - int(batch.spec.get("unresolved", 0))
            chunk = list(batch.member_ids[start : start + CHUNK])
            issued = skipped = failed = 0
            problems = list(batch.problems)
            for member_id in chunk:
                result = _quietly(
                    session,
                    program=program,
                    template=template,
                    member_id=member_id,
                    batch_key=f"batch:{batch.id}",
                    source=CouponSource.bulk,
                    actor=batch.actor,
                )
                if isinstance(result, Issued):
                    issued += result.created
                    skipped += not result.created
                    continue
                if isinstance(result, (MemberLimit, member_service.MemberInactive)):
                    skipped += 1
                else:
                    failed += 1
                if len(problems) < MAX_PROBLEMS:
                    problems.append({"member_id": member_id, "code": result.code})
            batch.done += len(chunk)
            batch.issued += issued
            batch.skipped += skipped
            batch.failed += failed
            batch.problems = problems
            finished = start + len(chunk) >= len(batch.member_ids)
            batch.state = BatchState.done if finished else BatchState.running
            if finished:
                batch.finished_at = utcnow()
                session.flush()
                session.expunge(batch)
                return batch


@dataclass(frozen=True)
class Imported:
    """An import of a partner's codes: how many came in, and each row refused, with why."""

    imported: int
    refused: list[dict[str, Any]]


def import_codes(
    session: Session,
    *,
    program: ProgramConfig,
    template_code: str,
    rows: Iterable[tuple[str, str | None]],
    actor: str,
) -> Imported:
    """Import a partner's codes for a template, each optionally held by a member (card number).

    Codes are kept as given, stripped. A code twice in the file, one the program has, a
    member unknown, or a refusal of :func:`issue` (budget, limit) is reported by row; the
    other rows are imported (batch key ``import:<code>``), all in the caller's transaction.
    """
    template = found(session, program=program, code=template_code)
    given = list(rows)
    if len(given) > MAX_ROWS:
        raise InvalidBatch(problem=Text(_("at most {rows} rows"), rows=MAX_ROWS))
    imported = 0
    refused: list[dict[str, Any]] = []
    seen: set[str] = set()
    for row, (raw_code, member_no) in enumerate(given, start=1):
        code = raw_code.strip()
        if not code or len(code) > 40 or has_control_characters(code):
            refused.append(_problem(row, code, "invalid_code"))
            continue
        if code in seen:
            refused.append(_problem(row, code, "duplicate_in_file"))
            continue
        seen.add(code)
        member_id = None
        if member_no:
            member_id = _member_id(session, program, member_no.strip())
            if member_id is None:
                refused.append(_problem(row, code, "member_not_found"))
                continue
        result = _quietly(
            session,
            program=program,
            template=template,
            member_id=member_id,
            batch_key=f"import:{code}",
            source=CouponSource.imported,
            actor=actor,
            code=code,
        )
        if isinstance(result, Issued):
            if result.created:
                imported += 1
            else:
                refused.append(_problem(row, code, CodeTaken.code))
        else:
            refused.append(_problem(row, code, result.code))
    return Imported(imported, refused)


# --- reading --------------------------------------------------------------------------------


def state_of(coupon: Coupon, now: datetime) -> str:
    """``available``, ``used``, ``expired`` (available but past its last day) or ``revoked``."""
    if coupon.status == CouponStatus.available and coupon.valid_until <= now:
        return "expired"
    return str(coupon.status)


def of_member(
    session: Session, *, program: ProgramConfig, member_no: str
) -> list[tuple[Coupon, CouponTemplate, str]]:
    """The member's coupons with their templates and states as of now, newest first."""
    member = member_service.find(session, program_id=program.id, member_no=member_no)
    now = utcnow()
    return [
        (coupon, template, state_of(coupon, now))
        for coupon, template in queries.of_member(session, member_id=member.id)
    ]


def report(
    session: Session, *, program: ProgramConfig
) -> list[tuple[CouponTemplate, queries.Figures]]:
    """Each template with what its coupons came to as of now (liability and effect)."""
    now = utcnow()
    return [
        (template, queries.figures(session, template_id=template.id, now=now))
        for template in catalog(session, program=program)
    ]


def batch_of(session: Session, *, program: ProgramConfig, batch_id: int) -> CouponBatch:
    """The program's batch with this id, or refuse (404)."""
    found_batch = queries.batch(session, program_id=program.id, batch_id=batch_id)
    if found_batch is None:
        raise BatchNotFound(batch=batch_id)
    return found_batch
