"""The program's own sections: its policies and its calendar (the timezone of its rules)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

from pydantic import BaseModel, Field

from memberkit.config import settings
from memberkit.kit.i18n import TextError, _
from memberkit.kit.sections import Section
from memberkit.program.policies import DEFAULT_POLICIES, Policies, parse_policies


class PoliciesSettings(BaseModel):
    """How far back live requests may be dated, cross-store returns, how long replays last."""

    backdate_days: int = Field(default=30, ge=1, le=3650)
    cross_store_returns: bool = False
    idempotency_retention_days: int = Field(default=30, ge=1, le=3650)


POLICIES: Section[Policies] = Section(
    name="policies",
    title=_("Policies"),
    parse=parse_policies,
    default=lambda: dict(DEFAULT_POLICIES),
    model=PoliciesSettings,
    render=lambda _raw, policies: policies.config(),
)


class CalendarError(TextError):
    """A calendar setting that does not make sense."""


class CalendarSettings(BaseModel):
    """The timezone (IANA name) the program's local days are in.

    Date multipliers, points expiring at the end of a year, tier reviews and growth caps per
    day or month follow it.
    """

    timezone: str = Field(examples=["Asia/Shanghai"])


#: Files of a zoneinfo directory that are no place: ``localtime`` is whatever the host is set
#: to (it would move the program's days with the machine), ``Factory`` is the "-00" filler.
_NOT_PLACES = frozenset({"localtime", "Factory", "posixrules"})


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones()) - _NOT_PLACES


def parse_calendar(config: Any) -> ZoneInfo:
    """Return the timezone a calendar setting names; raise :class:`CalendarError`."""
    name = config.get("timezone") if isinstance(config, dict) and set(config) == {"timezone"} else 0
    # The deployment's own MEMBERKIT_TIMEZONE is the default, so it always parses.
    if not isinstance(name, str) or (name not in _zones() and name != settings.timezone):
        raise CalendarError(
            _('the calendar is {"timezone": "Asia/Shanghai"}, with an IANA timezone name')
        )
    return ZoneInfo(name)


CALENDAR: Section[ZoneInfo] = Section(
    name="calendar",
    title=_("Calendar"),
    parse=parse_calendar,
    # A program that never set its timezone keeps the deployment's (MEMBERKIT_TIMEZONE).
    default=lambda: {"timezone": settings.timezone},
    model=CalendarSettings,
    render=lambda _raw, zone: {"timezone": zone.key},
)
