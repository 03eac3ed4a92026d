"""What each kind of member event sets off, in its own transaction: the one list to extend.

A domain that reacts to member events (tiers today; coupons on upgrade, achievements and
segment membership later) registers its reaction here, in the order they run.
"""

from __future__ import annotations

from collections.abc import Mapping

from memberkit.pipeline import EventKind, Reaction
from memberkit.tier import service as tier_service

REACTIONS: Mapping[EventKind, tuple[Reaction, ...]] = {
    EventKind.order: (tier_service.upgrade_on_gain,),
    EventKind.recharge: (tier_service.upgrade_on_gain,),
    EventKind.behaviour: (tier_service.upgrade_on_gain,),
    EventKind.refund: (tier_service.revert_on_refund,),
}
