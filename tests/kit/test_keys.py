"""Stored keys never change format: a new format would let an old change happen twice."""

from __future__ import annotations

from datetime import UTC, datetime

from memberkit.kit import keys


def test_every_key_keeps_the_format_already_stored_in_ledgers_and_idempotency_records() -> None:
    at = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
    assert [
        keys.order("POS-1"),
        keys.order_payment("POS-1"),
        keys.order_earning("POS-1"),
        keys.order_behaviour("POS-1"),
        keys.refund("R-1"),
        keys.recharge("C-1"),
        keys.event("E-1"),
        keys.member("k1"),
        keys.webhook("k4"),
        keys.webhook_replay("k5"),
        keys.adjustment("800000000018", "k2"),
        keys.grant("800000000018", "k3"),
        keys.expiry(42),
        keys.decay(7, at),
        keys.review(7, at),
        keys.tier_move("order:POS-1"),
        keys.referrer_tier_move("order:POS-1"),
        keys.referrer_revert("refund:R-1:tier", 0),
        keys.referrer_revert("refund:R-1:tier", 2),
    ] == [
        "order:POS-1",
        "order:POS-1:pay",
        "order:POS-1:earn",
        "order:POS-1:behaviour",
        "refund:R-1",
        "recharge:C-1",
        "event:E-1",
        "member:k1",
        "webhook:k4",
        "webhook-replay:k5",
        "adjust:800000000018:k2",
        "grant:800000000018:k3",
        "expire:42",
        "decay:7:2026-11-23T04:00:00+00:00",
        "review:7:2026-11-23T04:00:00+00:00",
        "order:POS-1:tier",
        "order:POS-1:referrer-tier",
        "refund:R-1:tier:referrer",
        "refund:R-1:tier:referrer:2",
    ]
