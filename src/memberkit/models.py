"""Imports every domain's models so the metadata is complete (Alembic, tests)."""

from memberkit.analytics.models import MemberRfm, RfmRefresh
from memberkit.audit.models import AuditEntry
from memberkit.auth.models import ApiKey
from memberkit.benefit.models import Benefit, BenefitGrant, BenefitUse
from memberkit.coupon.models import Coupon, CouponBatch, CouponTemplate, OrderCoupon
from memberkit.db import Base
from memberkit.events import OutboxEvent
from memberkit.forecast.models import ForecastFit, MemberForecast
from memberkit.idempotency.models import IdempotencyRecord
from memberkit.ledger.models import Account, LedgerEntry, LedgerTransaction, PointsLot
from memberkit.member.models import Member, MemberTag
from memberkit.order.models import Order, OrderLine, OrderPayment, Refund, RefundLine
from memberkit.program.models import Program, ProgramSetting
from memberkit.reward.models import Redemption, Reward
from memberkit.segment.models import Segment, SegmentMember, SegmentMembershipEvent
from memberkit.staff.models import LoginAttempt, StaffSession, StaffStore, StaffUser
from memberkit.store.models import Store
from memberkit.tier.models import TierChange, TierNotice
from memberkit.wallet.models import WalletRecharge, WalletRefund
from memberkit.webhook.models import WebhookAttempt, WebhookDelivery, WebhookSubscription

__all__ = [
    "Account",
    "ApiKey",
    "AuditEntry",
    "Base",
    "Benefit",
    "BenefitGrant",
    "BenefitUse",
    "Coupon",
    "CouponBatch",
    "CouponTemplate",
    "ForecastFit",
    "IdempotencyRecord",
    "LedgerEntry",
    "LedgerTransaction",
    "LoginAttempt",
    "Member",
    "MemberForecast",
    "MemberRfm",
    "MemberTag",
    "Order",
    "OrderCoupon",
    "OrderLine",
    "OrderPayment",
    "OutboxEvent",
    "PointsLot",
    "Program",
    "ProgramSetting",
    "Redemption",
    "Refund",
    "RefundLine",
    "Reward",
    "RfmRefresh",
    "Segment",
    "SegmentMember",
    "SegmentMembershipEvent",
    "StaffSession",
    "StaffStore",
    "StaffUser",
    "Store",
    "TierChange",
    "TierNotice",
    "WalletRecharge",
    "WalletRefund",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookSubscription",
]
