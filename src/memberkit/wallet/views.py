"""The wallet's part of the console's member page: stored value and what was recharged."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy.orm import Session

from memberkit.member.panels import Panel, Seen, register
from memberkit.wallet import service

#: The wallet's console pages (none of its own yet: its panel is on the member page).
router = APIRouter(include_in_schema=False)


def _load(session: Session, seen: Seen) -> dict[str, Any]:
    """The member's wallet, as ``GET /api/v1/members/{no}/wallet`` reads it."""
    return {
        "wallet": service.view(session, program_id=seen.program.id, member_no=seen.member.member_no)
    }


register(Panel("wallet", "wallet/panel.html", _load, order=20))
