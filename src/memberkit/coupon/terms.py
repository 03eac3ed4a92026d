"""A template's and a coupon's rows as the pure rules see them (:mod:`memberkit.coupon.rules`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from memberkit.coupon.models import Coupon, CouponTemplate
from memberkit.coupon.rules import Coupon as HeldCoupon
from memberkit.coupon.rules import CouponKind, Offer, Scope, Stacking

#: The include/exclude lists a template's ``scope`` may hold.
SCOPE_FIELDS = (
    "stores",
    "exclude_stores",
    "channels",
    "categories",
    "exclude_categories",
    "skus",
    "exclude_skus",
)


def scope_of(stored: Mapping[str, Any]) -> Scope:
    """Return the :class:`Scope` of a template's stored ``scope`` (missing lists: none)."""
    return Scope(**{name: frozenset(stored.get(name) or ()) for name in SCOPE_FIELDS})


def offer_of(template: CouponTemplate) -> Offer:
    """Return the terms of ``template`` that decide a discount."""
    return Offer(
        kind=CouponKind(template.kind),
        off_minor=template.off_minor,
        threshold_minor=template.threshold_minor,
        percent_bp=template.percent_bp,
        cap_minor=template.cap_minor,
        gift_sku=template.gift_sku,
        min_spend_minor=template.min_spend_minor,
        scope=scope_of(template.scope or {}),
        stacking=Stacking(
            with_coupons=template.with_coupons,
            with_tier_discount=template.with_tier_discount,
            with_points=template.with_points,
        ),
    )


def held(coupon: Coupon, template: CouponTemplate) -> HeldCoupon:
    """Return ``coupon`` (of ``template``) as the rules judge it at a checkout."""
    return HeldCoupon(
        code=coupon.code,
        offer=offer_of(template),
        valid_from=coupon.valid_from,
        valid_until=coupon.valid_until,
    )
