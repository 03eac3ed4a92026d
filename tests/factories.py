"""Factories for service tests: members, stores and orders made through the real services.

Each takes a session of a real unit of work and the program, and fills in what a test does not
care about, so a test says only what matters to it.
"""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from memberkit.kit.time import Timing, utcnow
from memberkit.member import service as member_service
from memberkit.member.models import Member
from memberkit.order import service as order_service
from memberkit.program.service import ProgramConfig
from memberkit.store import service as store_service
from memberkit.store.models import Store, StoreType

_serial = itertools.count(1)


def make_store(
    session: Session, program: ProgramConfig, *, code: str = "SH001", **changes: Any
) -> Store:
    """A store of the program (a direct store in Shanghai unless told otherwise)."""
    values: dict[str, Any] = {"name": f"门店 {code}", "type": StoreType.direct, "city": "上海"}
    store, _created = store_service.create(
        session, program_id=program.id, code=code, **{**values, **changes}
    )
    return store


def make_member(session: Session, program: ProgramConfig, **changes: Any) -> Member:
    """A member with a fresh phone number (unless ``phone`` is given)."""
    phone = changes.pop("phone", f"139{next(_serial):08d}")
    return member_service.register(session, program_id=program.id, phone=phone, **changes)


def post_order(
    session: Session,
    program: ProgramConfig,
    member: Member,
    *,
    amount_minor: int = 6000,
    points: int = 0,
    external_id: str | None = None,
    occurred_at: datetime | None = None,
    category: str = "coffee",
    store_code: str | None = None,
    timing: Timing | None = None,
) -> order_service.OrderResult:
    """Post a one-line order of ``amount_minor``, ``points`` of it paid with points, rest cash."""
    points_value = points * 100 // program.points_per_currency_unit
    payments = [order_service.PaymentIn("cash", amount_minor - points_value)]
    if points:
        payments.insert(0, order_service.PaymentIn("points", points=points))
    return order_service.post_order(
        session,
        program=program,
        order=order_service.OrderIn(
            external_id=external_id or f"F-{next(_serial)}",
            member=member_service.MemberRef(member_no=member.member_no),
            store_code=store_code,
            channel="store",
            occurred_at=occurred_at or utcnow(),
            lines=[order_service.LineIn("A1", "拿铁", category, 1, amount_minor, amount_minor)],
            payments=payments,
        ),
        timing=timing,
    )
