"""The tier's part of the console's member page: tier, progress, history, and a grant."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from memberkit.faces.pages import Action
from memberkit.kit import keys
from memberkit.kit.time import utcnow
from memberkit.ledger.repository import member_balances
from memberkit.member.models import Member
from memberkit.member.panels import Panel, Seen, register
from memberkit.member.views import Viewer, act, field_errors, page, read_form
from memberkit.tier import service
from memberkit.tier.rules import progress
from memberkit.tier.schemas import GrantIn

router = APIRouter(prefix="/admin/members", include_in_schema=False)


def _load(session: Session, seen: Seen) -> dict[str, Any]:
    """The member's tier, progress to the next one (the facts tiers judge on), history."""
    ladder = seen.program.ladder
    member = seen.member
    growth = member_balances(session, member_id=member.id).get("growth", 0)
    facts = service.facts(
        session, ladder=ladder, member_id=member.id, growth=growth, at=utcnow(), tz=seen.program.tz
    )
    return {
        "tier": ladder.tier(member.tier_code),
        "since": member.tier_since,
        "review_at": member.tier_review_at,
        "progress": progress(ladder, member.tier_code, facts),
        "growth": growth,
        "history": service.history(session, member_id=member.id, limit=20) if seen.in_scope else [],
        "names": {tier.code: tier.name for tier in ladder.tiers},
        "tiers": [(tier.code, tier.name) for tier in ladder.tiers],
    }


register(Panel("tier", "tier/panel.html", _load, order=10))


@router.post("/{member_no}/tier")
async def grant_tier(staff: Viewer, member_no: str) -> Response:
    """Grant a tier by hand until a date (owners, admins, marketers; audited, once per key)."""
    form = await read_form(staff)
    try:
        body = GrantIn.model_validate(
            {
                "tier": form.get("tier", ""),
                "until": form.get("until", "").strip(),
                "reason": form.get("reason", ""),
                "allow_down": form.get("allow_down") == "yes",
            }
        )
    except ValidationError as exc:
        errors = field_errors(exc, staff.locale, prefix="grant")
        return page(staff, member_no[:20], errors=errors, status_code=422)

    def change(session: Session, member: Member) -> tuple[Any, Any, dict[str, Any]]:
        before = member.tier_code
        reached = service.grant_tier(
            session,
            program=staff.program,
            member_no=member.member_no,
            tier_code=body.tier,
            last_day=body.until,
            note=body.reason,
            actor=f"staff:{staff.actor.username}",
            key=keys.grant(member.member_no, form["key"]),
            now=utcnow(),
            allow_down=body.allow_down,
        )
        after = {"tier": reached.code, "until": body.until.isoformat(), "reason": body.reason}
        return {"tier": before}, after, {"tier": reached.code}

    return act(staff, member_no, action=Action.grant_tier, name="tier", form=form, change=change)
