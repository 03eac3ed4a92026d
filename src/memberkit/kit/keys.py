"""Every key that makes a change happen at most once, built in one place.

Two kinds share one scheme, ``<kind>:<business id>[:<part>]``: the idempotency key of a request
(``order:<external id>``: a repeat gets the first response) and the unique key of each ledger
transaction or tier move it writes (``order:<external id>:earn``: a repeat can never post twice,
even once the request's record is purged). Keys are stored, so a format never changes; a new
kind of change adds its functions here.
"""

from __future__ import annotations

from datetime import datetime


def order(external_id: str) -> str:
    """An order, by the POS's external id: the request and the prefix of its postings."""
    return f"order:{external_id}"


def order_payment(external_id: str) -> str:
    """The order's points and stored-value payment."""
    return f"{order(external_id)}:pay"


def order_earning(external_id: str) -> str:
    """What the order earned: its points lot and spend growth."""
    return f"{order(external_id)}:earn"


def order_behaviour(external_id: str) -> str:
    """The growth the order earns for being an order."""
    return f"{order(external_id)}:behaviour"


def refund(external_id: str) -> str:
    """A refund, by its external id: the request and its posting."""
    return f"refund:{external_id}"


def recharge(external_id: str) -> str:
    """A stored-value recharge: the request and its posting."""
    return f"recharge:{external_id}"


def wallet_refund(external_id: str) -> str:
    """A refund of a stored-value recharge: the request and its posting."""
    return f"wallet-refund:{external_id}"


def event(external_id: str) -> str:
    """A behaviour event: the request and its growth posting."""
    return f"event:{external_id}"


def member(idempotency_key: str) -> str:
    """A registration, by the caller's idempotency key."""
    return f"member:{idempotency_key}"


def webhook(idempotency_key: str) -> str:
    """A webhook subscription, by the caller's idempotency key."""
    return f"webhook:{idempotency_key}"


def webhook_replay(idempotency_key: str) -> str:
    """An operator's replay of a webhook delivery, by the caller's idempotency key."""
    return f"webhook-replay:{idempotency_key}"


def adjustment(member_no: str, idempotency_key: str) -> str:
    """A hand adjustment of a member's points, by the caller's idempotency key."""
    return f"adjust:{member_no}:{idempotency_key}"


def grant(member_no: str, idempotency_key: str) -> str:
    """A tier granted by hand, by the caller's idempotency key."""
    return f"grant:{member_no}:{idempotency_key}"


def expiry(lot_id: int) -> str:
    """The expiry of one points lot."""
    return f"expire:{lot_id}"


def job(task: str, member_id: int, as_of: datetime) -> str:
    """A daily job's event for one member (``task``: the job); its postings key themselves."""
    return f"job:{task}:{member_id}:{as_of.isoformat()}"


def decay(member_id: int, refreshed_at: datetime) -> str:
    """One decay of a member's growth, by when it was last refreshed."""
    return f"decay:{member_id}:{refreshed_at.isoformat()}"


def review(member_id: int, review_at: datetime) -> str:
    """One tier review of a member, by its due date."""
    return f"review:{member_id}:{review_at.isoformat()}"


def tier_move(key: str) -> str:
    """The tier move an event (keyed ``key``) caused for its member."""
    return f"{key}:tier"


def referrer_tier_move(key: str) -> str:
    """The tier move an event caused for the member's referrer (an upgrade)."""
    return f"{key}:referrer-tier"


def referrer_revert(key: str, depth: int) -> str:
    """A referrer moved back by a refund, ``depth`` steps up the referral chain."""
    return f"{key}:referrer" if depth == 0 else f"{key}:referrer:{depth}"


def console(action: str, member_no: str, form_key: str) -> str:
    """A change made from a console form on a member, by the key rendered into the form."""
    return f"console:{action}:{member_no}:{form_key}"


def benefit_use(external_id: str) -> str:
    """A verification of a benefit, by its external id."""
    return f"benefit-use:{external_id}"


def benefit_undo(external_id: str) -> str:
    """The undoing of a benefit's use, by the use's external id."""
    return f"benefit-undo:{external_id}"


def redemption(external_id: str) -> str:
    """A redemption of a catalog reward, by its external id: the request and its burn."""
    return f"redemption:{external_id}"


def redemption_cancel(external_id: str) -> str:
    """The cancelling of a redemption: the request and the posting giving its points back."""
    return f"redemption-cancel:{external_id}"


def redemption_fulfil(external_id: str) -> str:
    """The pickup (fulfilment) of a redemption."""
    return f"redemption-fulfil:{external_id}"


def coupon_issue(template_code: str, external_id: str) -> str:
    """A coupon issued by hand, by the caller's external id (per template)."""
    return f"coupon-issue:{template_code}:{external_id}"


def coupon_revoke(code: str) -> str:
    """A coupon's revocation."""
    return f"coupon-revoke:{code}"
