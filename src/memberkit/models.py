"""Imports every domain's models so the metadata is complete (Alembic, tests)."""

from memberkit.auth.models import ApiKey
from memberkit.db import Base
from memberkit.events import OutboxEvent
from memberkit.idempotency.models import IdempotencyRecord
from memberkit.ledger.models import Account, LedgerEntry, LedgerTransaction, PointsLot
from memberkit.member.models import Member
from memberkit.order.models import Order, OrderLine, OrderPayment, Refund, RefundLine
from memberkit.program.models import Program, ProgramSetting
from memberkit.store.models import Store
from memberkit.tier.models import TierChange, TierNotice
from memberkit.wallet.models import WalletRecharge
from memberkit.webhook.models import WebhookAttempt, WebhookDelivery, WebhookSubscription

__all__ = [
    "Account",
    "ApiKey",
    "Base",
    "IdempotencyRecord",
    "LedgerEntry",
    "LedgerTransaction",
    "Member",
    "Order",
    "OrderLine",
    "OrderPayment",
    "OutboxEvent",
    "PointsLot",
    "Program",
    "ProgramSetting",
    "Refund",
    "RefundLine",
    "Store",
    "TierChange",
    "TierNotice",
    "WalletRecharge",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookSubscription",
]
