"""Audit rules without a database: what of a change is kept in clear, and in what form."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum

from memberkit.audit.rules import Origin, masked, plain


class Colour(StrEnum):
    gold = "gold"


@dataclass(frozen=True)
class Thing:
    name: str
    at: datetime


def test_a_members_personal_fields_are_masked_by_field() -> None:
    before = {
        "phone": "13800138000",
        "name": "张三丰",
        "email": "zhang@example.com",
        "birthday": "1990-05-01",
        "tags": ["vip"],
        "gender": "male",
    }
    assert masked("member", before) == {
        "phone": "138****8000",
        "name": "张**",
        "email": "z***@example.com",
        "birthday": "****-05-01",
        "tags": ["vip"],
        "gender": "male",
    }


def test_mobile_numbers_are_masked_in_any_text_of_any_subject() -> None:
    after = {
        "reason": "顾客 +86 139-1234-5678 来电投诉",
        "lines": [{"note": "call 13700137000"}],
        "member_no": "800000000018",
        "name": "上海南京东路店",
    }
    assert masked("store", after) == {
        "reason": "顾客 139****5678 来电投诉",
        "lines": [{"note": "call 137****7000"}],
        "member_no": "800000000018",  # card numbers are not phone numbers
        "name": "上海南京东路店",  # a store's name is no one's personal data
    }
    assert masked("store", None) is None


def test_plain_makes_json_ready_data() -> None:
    at = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
    assert plain(
        {
            "colour": Colour.gold,
            "at": at,
            "day": date(2026, 1, 2),
            "amount": Decimal("1.50"),
            "codes": frozenset({"b", "a"}),
            "thing": Thing("x", at),
            "pair": (1, None),
        }
    ) == {
        "colour": "gold",
        "at": "2026-11-23T12:00:00+08:00",
        "day": "2026-01-02",
        "amount": "1.50",
        "codes": ["a", "b"],
        "thing": {"name": "x", "at": "2026-11-23T12:00:00+08:00"},
        "pair": [1, None],
    }


def test_an_origin_is_cut_to_what_the_log_keeps() -> None:
    fitted = Origin("x" * 150, 3, "1" * 60, "agent " * 100).fitted()
    assert (
        len(fitted.actor_name),
        fitted.actor_id,
        len(fitted.ip or ""),
        len(fitted.user_agent or ""),
    ) == (
        100,
        3,
        45,
        300,
    )
