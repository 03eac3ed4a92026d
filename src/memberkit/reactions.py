"""What each kind of member event sets off, in its own transaction: the one list to extend.

A domain that reacts to member events (tiers, coupons on upgrade; achievements and segment
membership later) registers its reaction here, in the order they run. A registration is not a
pipeline event (nothing is posted yet); what it sets off is in :data:`ON_REGISTERED`, which
:func:`memberkit.member.service.register` reads late, so members never import the domains
above them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from memberkit.analytics import tasks as analytics_tasks
from memberkit.coupon import service as coupon_service
from memberkit.member.models import Member
from memberkit.pipeline import EventKind, Reaction
from memberkit.program.service import ProgramConfig
from memberkit.segment import tasks as segment_tasks
from memberkit.tier import service as tier_service

#: The coupons an upgrade gives (升级礼包) come after the tier reaction that made it.
_GAINING = (tier_service.upgrade_on_gain, coupon_service.gift_on_upgrade)

REACTIONS: Mapping[EventKind, tuple[Reaction, ...]] = {
    EventKind.order: _GAINING,
    EventKind.recharge: _GAINING,
    EventKind.behaviour: _GAINING,
    EventKind.refund: (tier_service.revert_on_refund,),
}

#: What a registration sets off, in its transaction: ``(session, member, registered_at)``.
ON_REGISTERED: tuple[Callable[[Session, Member, datetime], None], ...] = (
    lambda session, member, at: coupon_service.welcome(session, member=member, registered_at=at),
)

#: What runs once a unit of work that applied member events has committed, in order, on
#: :data:`memberkit.pipeline.BACKGROUND`'s thread: ``(engine, program, member_ids)``, each in
#: its own short transaction. A failure is logged and never reaches the request, whose work is
#: already committed. RFM rows first: segment rules may read them.
AFTER_COMMIT: tuple[Callable[[Engine, ProgramConfig, frozenset[int]], None], ...] = (
    analytics_tasks.refresh_after_commit,
    segment_tasks.refresh_after_commit,
)
