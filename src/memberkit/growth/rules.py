"""Pure growth-value rules for behaviours other than orders: weights and caps per period.

Configured per program as ``{"behaviours": {"sign_in": {"growth": 1, "cap": 1, "per": "day"},
...}}``. Spending earns growth through the earning rules and returns take it back through
refunds; the behaviours here are the rest: each order (``order``, awarded with the order and
taken back by its refunds like its spend growth), and the events of reviews, photo reviews,
shares, daily sign-in, profile completion and invitees' first purchases.

An optional ``"spend_cap": {"cap": 5000, "per": "month"}`` caps the growth spending earns (its
weight is the earning rules' ``growth_per_unit``). An optional ``"decay": {"after_days": 365,
"share": "0.2"}`` takes a share of the growth of a
member who has earned none for ``after_days`` (the "stick" of a membership not renewed); the
next decay comes ``after_days`` after that one, unless the member earns growth meanwhile.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from memberkit.kit.i18n import TextError, _

#: The behaviour of placing an order: awarded by ``POST /orders``, not by an event.
ORDER = "order"
BEHAVIOURS = (
    ORDER,
    "review",
    "photo_review",
    "share",
    "sign_in",
    "profile_completed",
    "invitee_first_purchase",
)
PERIODS = ("day", "week", "month", "year", "ever")
DEFAULT_GROWTH_RULES: dict[str, Any] = {
    "behaviours": {
        "review": {"growth": 10, "cap": 50, "per": "month"},
        "photo_review": {"growth": 20, "cap": 100, "per": "month"},
        "share": {"growth": 5, "cap": 10, "per": "day"},
        "sign_in": {"growth": 1, "cap": 1, "per": "day"},
        "profile_completed": {"growth": 50, "cap": 50, "per": "ever"},
        "invitee_first_purchase": {"growth": 100, "cap": 1000, "per": "month"},
    }
}


class GrowthRulesError(TextError):
    """A growth configuration that does not make sense."""


@dataclass(frozen=True)
class Behaviour:
    """Growth per occurrence of a behaviour, and at most ``cap`` per ``per`` period."""

    growth: int
    cap: int
    per: str

    def period(self, at: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """Return the [start, end) of the capping period holding ``at`` (UTC instants)."""
        return period_bounds(self.per, at, tz)

    def award(self, already: int) -> int:
        """Return the growth to award now, given what this period has awarded already."""
        return max(0, min(self.growth, self.cap - already))


def period_bounds(per: str, at: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """Return the [start, end) of the local day, week, month or year holding ``at`` (in UTC).

    ``ever`` is all time.
    """
    day = at.astimezone(tz).date()
    if per == "ever":
        return datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)
    if per == "day":
        start, end = day, day + timedelta(days=1)
    elif per == "week":
        start = day - timedelta(days=day.weekday())
        end = start + timedelta(days=7)
    elif per == "month":
        start = day.replace(day=1)
        end = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    else:
        start, end = date(day.year, 1, 1), date(day.year + 1, 1, 1)
    return _midnight(start, tz), _midnight(end, tz)


@dataclass(frozen=True)
class SpendCap:
    """At most ``cap`` growth from spending per ``per`` period."""

    cap: int
    per: str

    def period(self, at: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """Return the [start, end) of the capping period holding ``at`` (UTC instants)."""
        return period_bounds(self.per, at, tz)

    def award(self, earned: int, already: int) -> int:
        """Return the part of ``earned`` the cap lets through, given the period's awards."""
        return max(0, min(earned, self.cap - already))


MAX_SPEND_CAP = 10**9


def parse_spend_cap(config: Mapping[str, Any]) -> SpendCap | None:
    """Return the spend cap a valid growth configuration sets, or None when it sets none."""
    raw = config.get("spend_cap") if isinstance(config, Mapping) else None
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or set(raw) != {"cap", "per"}:
        raise GrowthRulesError(_('spend_cap is {"cap": 5000, "per": "month"}'))
    cap, per = raw["cap"], raw["per"]
    if isinstance(cap, bool) or not isinstance(cap, int) or not 1 <= cap <= MAX_SPEND_CAP:
        raise GrowthRulesError(
            _("spend_cap: cap must be a whole number from 1 to {most}"), most=MAX_SPEND_CAP
        )
    if per not in PERIODS or per == "ever":
        raise GrowthRulesError(_("spend_cap: per must be one of day, week, month, year"))
    return SpendCap(cap=cap, per=per)


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)


@dataclass(frozen=True)
class Decay:
    """Growth not refreshed for ``after_days`` loses ``share`` of itself (rounded down)."""

    after_days: int
    share: Decimal

    def due(self, refreshed_at: datetime) -> datetime:
        """Return when growth last refreshed at ``refreshed_at`` decays."""
        return refreshed_at + timedelta(days=self.after_days)

    def amount(self, balance: int) -> int:
        """Return the growth a decay takes from ``balance`` (never more than it, never < 0)."""
        if balance <= 0:
            return 0
        return int((balance * self.share).to_integral_value(rounding=ROUND_FLOOR))


MAX_DECAY_DAYS = 1095
_SHARE = re.compile(r"[01](\.[0-9]{1,4})?", re.ASCII)


def parse_decay(config: Mapping[str, Any]) -> Decay | None:
    """Return the decay a valid growth configuration sets, or None when it sets none."""
    raw = config.get("decay") if isinstance(config, Mapping) else None
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or set(raw) != {"after_days", "share"}:
        raise GrowthRulesError(_('decay is {"after_days": 365, "share": "0.2"}'))
    days = raw["after_days"]
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DECAY_DAYS:
        raise GrowthRulesError(_("decay: after_days must be from 1 to {most}"), most=MAX_DECAY_DAYS)
    text = raw["share"]
    share = Decimal(text) if isinstance(text, str) and _SHARE.fullmatch(text) else Decimal(0)
    if not 0 < share <= 1:
        raise GrowthRulesError(
            _('decay: share is a fraction above 0 and at most 1, to 4 places, such as "0.2"')
        )
    return Decay(after_days=days, share=share)


def parse_growth_rules(config: Mapping[str, Any]) -> dict[str, Behaviour]:
    """Validate a growth configuration; raise :class:`GrowthRulesError`.

    Returns the behaviours; :func:`parse_decay` and :func:`parse_spend_cap` read the (already
    validated) decay and spend cap.
    """
    if not isinstance(config, Mapping) or set(config) - {"behaviours", "decay", "spend_cap"}:
        raise GrowthRulesError(
            _('growth rules are {"behaviours": {...}, "spend_cap": {...}, "decay": {...}}')
        )
    parse_decay(config)
    parse_spend_cap(config)
    raw = config.get("behaviours", {})
    if not isinstance(raw, Mapping):
        raise GrowthRulesError(_("behaviours must map behaviour types to their growth"))
    unknown = set(raw) - set(BEHAVIOURS)
    if unknown:
        raise GrowthRulesError(
            _("unknown behaviour types: {unknown} (known: {known})"),
            unknown=", ".join(sorted(map(str, unknown))),
            known=", ".join(BEHAVIOURS),
        )
    parsed = {}
    for kind, rule in raw.items():
        if not isinstance(rule, Mapping) or set(rule) - {"growth", "cap", "per"}:
            raise GrowthRulesError(_("{kind}: give growth, cap and per"), kind=kind)
        growth, cap, per = rule.get("growth"), rule.get("cap"), rule.get("per", "day")
        for name, value in (("growth", growth), ("cap", cap)):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100_000:
                raise GrowthRulesError(
                    _("{kind}: {name} must be a whole number from 0 to 100000"),
                    kind=kind,
                    name=name,
                )
        if per not in PERIODS:
            raise GrowthRulesError(
                _("{kind}: per must be one of {choices}"), kind=kind, choices=", ".join(PERIODS)
            )
        assert isinstance(growth, int) and isinstance(cap, int)
        if cap < growth:
            raise GrowthRulesError(
                _("{kind}: the cap must be at least one award ({growth})"), kind=kind, growth=growth
            )
        parsed[kind] = Behaviour(growth=growth, cap=cap, per=per)
    return parsed
