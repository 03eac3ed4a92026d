"""The orders' part of the console's member page: the member's orders and refunds."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy.orm import Session

from memberkit.member.panels import Panel, Seen, register
from memberkit.order import queries

#: The orders' console pages (none of their own yet: their panel is on the member page).
router = APIRouter(include_in_schema=False)


def _load(session: Session, seen: Seen) -> dict[str, Any]:
    """The member's latest orders with their refunds; a store-bound role sees its stores'."""
    if not seen.in_scope:
        return {"orders": None}
    stores = seen.actor.store_scope
    return {"orders": queries.member_orders(session, member_id=seen.member.id, stores=stores)}


register(Panel("orders", "order/panel.html", _load, order=30))
