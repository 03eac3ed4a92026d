"""Pure tier rules: the ladder, its qualification and retention conditions, upgrade and review.

A condition is JSON: ``{"growth_at_least": 1000}``, ``{"spend_at_least": "2000.00",
"within_days": 30}``, ``{"day_spend_at_least": "800.00"}`` (spent on the day of the event),
``{"orders_at_least": 5, "within_days": 30}``, ``{"recharged_at_least": "1000.00",
"within_days": 365}`` (stored value paid in), or ``{"all": [...]}`` / ``{"any": [...]}`` of
conditions. Everything here is plain data in, plain data out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from memberkit.kit.i18n import TextError, _
from memberkit.kit.money import MoneyFormatError, parse_money

MAX_DEPTH = 4
RECHARGED = "recharged_at_least"
MAX_WINDOW_DAYS = 730
PERIODS = ("calendar_year", "twelve_months")
REVIEW_MODES = ("one_down", "to_qualified")
MAX_NOTICE_DAYS = 180
DEFAULT_NOTICE_DAYS = 30
DEFAULT_LADDER: dict[str, Any] = {
    "period": "calendar_year",
    "review": "one_down",
    "notice_days": DEFAULT_NOTICE_DAYS,
    "refund_reverts_upgrade": True,
    "tiers": [
        {"code": "regular", "name": "普通会员", "multiplier": "1", "color": "#8c8c8c"},
        {
            "code": "silver",
            "name": "银卡会员",
            "multiplier": "1.2",
            "color": "#a6a6a6",
            "qualify": {"growth_at_least": 1000},
            "retain": {"growth_at_least": 500},
        },
        {
            "code": "gold",
            "name": "金卡会员",
            "multiplier": "1.5",
            "color": "#d4a017",
            "qualify": {
                "any": [
                    {"growth_at_least": 5000},
                    {"day_spend_at_least": "800.00"},
                    {"spend_at_least": "2000.00", "within_days": 30},
                ]
            },
            "retain": {"growth_at_least": 3000},
        },
        {
            "code": "black",
            "name": "黑金会员",
            "multiplier": "2",
            "color": "#1f1f1f",
            "qualify": {"growth_at_least": 20000},
            "retain": {"growth_at_least": 12000},
        },
    ],
}


class LadderError(TextError):
    """A tier ladder configuration that does not make sense."""


@dataclass(frozen=True)
class Facts:
    """What conditions are judged on: a member's growth and recent activity.

    ``spend`` and ``orders`` map a window in days to the net spend (minor units) and order
    count within it; ``day_spend`` is the net spend on the day of the event.
    ``invitees_purchased`` counts the members they invited who have bought something, and
    ``invitees_at_level`` how many invitees hold each level or above. ``recharged`` maps a
    window to the stored value recharged within it (minor units, bonus not included).
    """

    growth: int
    day_spend: int = 0
    spend: Mapping[int, int] = field(default_factory=dict)
    orders: Mapping[int, int] = field(default_factory=dict)
    invitees_purchased: int = 0
    invitees_at_level: Mapping[int, int] = field(default_factory=dict)
    recharged: Mapping[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Condition:
    """One parsed condition (a leaf or an all/any group)."""

    kind: str
    threshold: int = 0
    within_days: int = 0
    level: int = 0
    parts: tuple[Condition, ...] = ()

    def holds(self, facts: Facts) -> bool:
        """Tell whether the facts meet this condition."""
        if self.kind == "all":
            return all(part.holds(facts) for part in self.parts)
        if self.kind == "any":
            return any(part.holds(facts) for part in self.parts)
        if self.kind == "growth_at_least":
            return facts.growth >= self.threshold
        if self.kind == "day_spend_at_least":
            return facts.day_spend >= self.threshold
        if self.kind == "spend_at_least":
            return facts.spend.get(self.within_days, 0) >= self.threshold
        if self.kind == "invitees_purchased_at_least":
            return facts.invitees_purchased >= self.threshold
        if self.kind == "invitees_reached_at_least":
            return facts.invitees_at_level.get(self.level, 0) >= self.threshold
        if self.kind == "recharged_at_least":
            return facts.recharged.get(self.within_days, 0) >= self.threshold
        return facts.orders.get(self.within_days, 0) >= self.threshold

    def reads_orders(self) -> bool:
        """Tell whether the condition reads spend or order counts."""
        if self.kind in ("spend_at_least", "day_spend_at_least", "orders_at_least"):
            return True
        return any(part.reads_orders() for part in self.parts)

    def invitee_levels(self) -> set[int] | None:
        """Return the invitee levels the condition reads, or None when it reads no invitees."""
        found: set[int] | None = None
        if self.kind.startswith("invitees_"):
            found = {self.level} if self.kind == "invitees_reached_at_least" else set()
        for part in self.parts:
            sub = part.invitee_levels()
            if sub is not None:
                found = (found or set()) | sub
        return found

    def windows(self) -> set[int]:
        """Return the windows (days) whose spend and order counts the condition reads."""
        found = {self.within_days} if self.within_days and self.kind != RECHARGED else set()
        for part in self.parts:
            found |= part.windows()
        return found

    def recharge_windows(self) -> set[int]:
        """Return the windows (days) whose recharges the condition reads."""
        found = {self.within_days} if self.kind == RECHARGED else set()
        for part in self.parts:
            found |= part.recharge_windows()
        return found

    def growth_floor(self) -> int | None:
        """Return the growth threshold when the condition is growth alone, else None."""
        return self.threshold if self.kind == "growth_at_least" else None


@dataclass(frozen=True)
class Tier:
    """One rung of the ladder; level 0 is the entry tier every member starts in."""

    level: int
    code: str
    name: str
    multiplier: Decimal
    color: str
    qualify: Condition | None
    retain: Condition | None


@dataclass(frozen=True)
class Reads:
    """What a ladder's conditions read: the facts an event must load for it."""

    windows: frozenset[int]
    recharge_windows: frozenset[int]
    orders: bool
    invitee_levels: frozenset[int] | None


@dataclass(frozen=True)
class Ladder:
    """A program's ordered tiers, with the period and the review mode.

    Members and their tier history hold tier *codes*; a tier's level is its place on this
    ladder, found here, so replacing the ladder never changes what history says.
    """

    tiers: tuple[Tier, ...]
    period: str = "calendar_year"
    review_mode: str = "one_down"
    notice_days: int = DEFAULT_NOTICE_DAYS  # a grace notice this many days before a review
    refund_reverts_upgrade: bool = True  # a refund that undoes a qualification moves back

    @cached_property
    def _levels(self) -> dict[str, int]:
        return {tier.code: tier.level for tier in self.tiers}

    @property
    def entry(self) -> Tier:
        """The tier every member starts in."""
        return self.tiers[0]

    def has(self, code: str) -> bool:
        """Tell whether ``code`` is a tier of this ladder."""
        return code in self._levels

    def level_of(self, code: str) -> int:
        """Return the level of the tier ``code``.

        A code the ladder does not have counts as the entry tier: a ladder change moves every
        member off the tiers it drops, so only a request racing that change can leave one.
        """
        return self._levels.get(code, 0)

    def tier(self, code: str) -> Tier:
        """Return the tier ``code`` (the entry tier for a code not on the ladder)."""
        return self.tiers[self.level_of(code)]

    def codes_from(self, level: int) -> list[str]:
        """Return the codes of the tiers at ``level`` and above."""
        return [tier.code for tier in self.tiers[level:]]

    @cached_property
    def _reads(self) -> Reads:
        """What the ladder's conditions read, found once per ladder (it is immutable)."""
        conditions = [
            condition
            for tier in self.tiers
            for condition in (tier.qualify, tier.retain)
            if condition is not None
        ]
        levels: set[int] | None = None
        for condition in conditions:
            sub = condition.invitee_levels()
            if sub is not None:
                levels = (levels or set()) | sub
        return Reads(
            windows=frozenset().union(*(c.windows() for c in conditions)),
            recharge_windows=frozenset().union(*(c.recharge_windows() for c in conditions)),
            orders=any(c.reads_orders() for c in conditions),
            invitee_levels=frozenset(levels) if levels is not None else None,
        )

    def windows(self) -> frozenset[int]:
        """Return every window any condition reads."""
        return self._reads.windows

    def recharge_windows(self) -> frozenset[int]:
        """Return every window of recharges any condition reads."""
        return self._reads.recharge_windows

    def reads_orders(self) -> bool:
        """Tell whether any condition reads spend or order counts (so facts need a query)."""
        return self._reads.orders

    def invitee_levels(self) -> frozenset[int] | None:
        """Return the invitee levels any condition reads (None: no condition reads invitees)."""
        return self._reads.invitee_levels

    def qualified(self, facts: Facts) -> int:
        """Return the highest level whose qualification the facts meet (0 at least)."""
        return max(
            (t.level for t in self.tiers if t.qualify is not None and t.qualify.holds(facts)),
            default=0,
        )

    def upgrade(self, current: int, facts: Facts) -> int:
        """Return the level after an event: higher if the member now qualifies, never lower."""
        return max(current, self.qualified(facts))

    def eligible(self, facts: Facts) -> int:
        """Return the highest level the member may hold: its qualification or retention holds."""
        return max(
            (
                t.level
                for t in self.tiers
                if any(c is not None and c.holds(facts) for c in (t.qualify, t.retain))
            ),
            default=0,
        )

    def review(self, current: int, facts: Facts) -> int:
        """Return the level after the period-end review.

        A member who meets the current tier's retention or qualification rule, or a higher
        tier's, keeps it.
        Otherwise ``one_down`` moves one tier down, and ``to_qualified`` moves to the highest
        tier the member is eligible for. A review never moves a member up.
        """
        if current == 0:
            return 0
        eligible = self.eligible(facts)
        if eligible >= current:  # this tier's rules hold (or a higher tier's)
            return current
        if self.review_mode == "one_down":
            return current - 1
        return eligible

    def period_end(self, start: datetime, tz: ZoneInfo) -> datetime:
        """Return when a tier reached at ``start`` is next reviewed (a local midnight, in UTC)."""
        local = start.astimezone(tz).date()
        if self.period == "calendar_year":
            end = date(local.year + 1, 1, 1)
        else:
            try:
                end = local.replace(year=local.year + 1)
            except ValueError:  # 29 February
                end = date(local.year + 1, 3, 1)
        return datetime(end.year, end.month, end.day, tzinfo=tz).astimezone(UTC)


def parse_ladder(config: Mapping[str, Any]) -> Ladder:
    """Validate a ladder configuration and build it; raise :class:`LadderError`."""
    if not isinstance(config, Mapping):
        raise LadderError(_("the ladder must be an object"))
    unknown = set(config) - {"tiers", "period", "review", "notice_days", "refund_reverts_upgrade"}
    if unknown:
        raise LadderError(
            _("unknown ladder settings: {unknown}"), unknown=", ".join(sorted(map(str, unknown)))
        )
    period = config.get("period", "calendar_year")
    if period not in PERIODS:
        raise LadderError(_("period must be one of {choices}"), choices=", ".join(PERIODS))
    review = config.get("review", "one_down")
    if review not in REVIEW_MODES:
        raise LadderError(_("review must be one of {choices}"), choices=", ".join(REVIEW_MODES))
    notice_days = config.get("notice_days", DEFAULT_NOTICE_DAYS)
    if (
        isinstance(notice_days, bool)
        or not isinstance(notice_days, int)
        or not 0 <= notice_days <= MAX_NOTICE_DAYS
    ):
        raise LadderError(
            _("notice_days must be a whole number from 0 to {most}"), most=MAX_NOTICE_DAYS
        )
    reverts = config.get("refund_reverts_upgrade", True)
    if not isinstance(reverts, bool):
        raise LadderError(_("refund_reverts_upgrade must be true or false"))
    raw_tiers = config.get("tiers")
    if not isinstance(raw_tiers, list) or not 1 <= len(raw_tiers) <= 10:
        raise LadderError(_("tiers must be a list of 1 to 10 tiers, lowest first"))
    codes_so_far: list[str] = []
    tiers_list = []
    for level, raw in enumerate(raw_tiers):
        tier = _tier(level, raw, codes_so_far)
        tiers_list.append(tier)
        codes_so_far.append(tier.code)
    tiers = tuple(tiers_list)
    codes = [tier.code for tier in tiers]
    if len(set(codes)) != len(codes):
        raise LadderError(_("tier codes must be unique"))
    if tiers[0].qualify is not None:
        raise LadderError(_("the first tier is where every member starts: it has no qualification"))
    for tier in tiers[1:]:
        if tier.qualify is None:
            raise LadderError(_("tier {code} needs a qualification rule"), code=tier.code)
    _check_increasing(tiers)
    return Ladder(
        tiers=tiers,
        period=period,
        review_mode=review,
        notice_days=notice_days,
        refund_reverts_upgrade=reverts,
    )


def _check_increasing(tiers: tuple[Tier, ...]) -> None:
    """Refuse growth thresholds that do not rise from tier to tier.

    Checked for qualification and retention alike, and a retention threshold above the same
    tier's qualification is refused too.
    """
    for rule in ("qualify", "retain"):
        previous: tuple[str, int] | None = None
        for tier in tiers[1:]:
            condition = getattr(tier, rule)
            floor = condition.growth_floor() if condition is not None else None
            if floor is None:
                continue
            if previous is not None and floor <= previous[1]:
                raise LadderError(
                    _(
                        "{rule} thresholds must rise: {code} needs more growth than {previous} "
                        "({floor} <= {previous_floor})"
                    ),
                    rule=rule,
                    code=tier.code,
                    previous=previous[0],
                    floor=floor,
                    previous_floor=previous[1],
                )
            previous = (tier.code, floor)
    for tier in tiers[1:]:
        qualify = tier.qualify.growth_floor() if tier.qualify is not None else None
        retain = tier.retain.growth_floor() if tier.retain is not None else None
        if qualify is not None and retain is not None and retain > qualify:
            raise LadderError(
                _("tier {code}: keeping it cannot need more than reaching it"), code=tier.code
            )


def _tier(level: int, raw: Any, lower: list[str]) -> Tier:
    if not isinstance(raw, Mapping):
        raise LadderError(_("tier {level} must be an object"), level=level + 1)
    unknown = set(raw) - {"code", "name", "multiplier", "color", "qualify", "retain"}
    if unknown:
        raise LadderError(
            _("tier {level}: unknown settings {unknown}"),
            level=level + 1,
            unknown=", ".join(sorted(map(str, unknown))),
        )
    code, name, color = raw.get("code"), raw.get("name"), raw.get("color", "#8c8c8c")
    if not isinstance(code, str) or not code.isidentifier() or len(code) > 32:
        raise LadderError(_("tier {level}: code must be a short identifier"), level=level + 1)
    if not isinstance(name, str) or not 1 <= len(name) <= 32:
        raise LadderError(_("tier {code}: name must be 1 to 32 characters"), code=code)
    if not isinstance(color, str) or len(color) != 7 or not color.startswith("#"):
        raise LadderError(_("tier {code}: color must look like #d4a017"), code=code)
    multiplier = raw.get("multiplier", "1")
    try:
        factor = Decimal(str(multiplier)) if not isinstance(multiplier, bool) else Decimal(-1)
    except InvalidOperation as exc:
        raise LadderError(_("tier {code}: multiplier must be a number"), code=code) from exc
    if not factor.is_finite() or not Decimal("0.1") <= factor <= 10:
        raise LadderError(_("tier {code}: multiplier must be from 0.1 to 10"), code=code)
    return Tier(
        level=level,
        code=code,
        name=name,
        multiplier=factor,
        color=color,
        qualify=_condition(raw["qualify"], code, 0, lower)
        if raw.get("qualify") is not None
        else None,
        retain=_condition(raw["retain"], code, 0, lower) if raw.get("retain") is not None else None,
    )


LEAVES = (
    "growth_at_least",
    "spend_at_least",
    "day_spend_at_least",
    "orders_at_least",
    "invitees_purchased_at_least",
    "invitees_reached_at_least",
    "recharged_at_least",
)


def _condition(raw: Any, code: str, depth: int, lower: list[str]) -> Condition:
    if depth > MAX_DEPTH:
        raise LadderError(
            _("tier {code}: conditions nest deeper than {most}"), code=code, most=MAX_DEPTH
        )
    if not isinstance(raw, Mapping) or len(set(raw) & {*LEAVES, "all", "any"}) != 1:
        raise LadderError(
            _("tier {code}: a condition is one of {kinds}"),
            code=code,
            kinds=", ".join((*LEAVES, "all", "any")),
        )
    for group in ("all", "any"):
        if group in raw:
            if set(raw) != {group} or not isinstance(raw[group], list) or not raw[group]:
                raise LadderError(
                    _("tier {code}: {group} takes a non-empty list of conditions"),
                    code=code,
                    group=group,
                )
            return Condition(
                group, parts=tuple(_condition(p, code, depth + 1, lower) for p in raw[group])
            )
    kind = next(iter(set(raw) & set(LEAVES)))
    windowed = ("spend_at_least", "orders_at_least", RECHARGED)
    allowed = {kind, "within_days"} if kind in windowed else {kind}
    if kind == "invitees_reached_at_least":
        allowed = {kind, "tier"}
    if set(raw) - allowed:
        raise LadderError(
            _("tier {code}: {kind} takes only {allowed}"),
            code=code,
            kind=kind,
            allowed=", ".join(sorted(allowed)),
        )
    value = raw[kind]
    if kind in ("spend_at_least", "day_spend_at_least", RECHARGED):
        try:
            threshold = parse_money(value) if isinstance(value, str) else -1
        except MoneyFormatError:
            threshold = -1
        if threshold <= 0:
            raise LadderError(
                _('tier {code}: {kind} is an amount such as "2000.00"'), code=code, kind=kind
            )
    else:
        threshold = value if isinstance(value, int) and not isinstance(value, bool) else -1
        if not 1 <= threshold <= 10**12:
            raise LadderError(
                _("tier {code}: {kind} must be a whole number of at least 1"), code=code, kind=kind
            )
    within = 0
    if "within_days" in allowed:
        within = raw.get("within_days", 0)
        if (
            isinstance(within, bool)
            or not isinstance(within, int)
            or not 1 <= within <= MAX_WINDOW_DAYS
        ):
            raise LadderError(
                _("tier {code}: within_days must be from 1 to {most}"),
                code=code,
                most=MAX_WINDOW_DAYS,
            )
    level = 0
    if kind == "invitees_reached_at_least":
        target = raw.get("tier")
        if target not in lower:
            # A tier reached through invitees of its own tier (or a higher one) is a cycle.
            raise LadderError(
                _(
                    "tier {code}: invitees_reached_at_least names a lower tier ({lower}), "
                    "not {target}"
                ),
                code=code,
                lower=", ".join(lower) or "none",
                target=repr(target),
            )
        level = lower.index(target)
    return Condition(kind, threshold=threshold, within_days=within, level=level)


@dataclass(frozen=True)
class Progress:
    """How far a member is from the next tier up (None: at the top)."""

    next_tier: Tier | None
    #: Whether the facts already meet the next tier's qualification (it applies at the next event).
    qualifies: bool
    #: The next tier's growth threshold, when growth alone qualifies for it.
    growth_needed: int | None
    #: The member's growth as a share of that threshold, in whole percent (0-100).
    percent: int | None


def progress(ladder: Ladder, code: str, facts: Facts) -> Progress:
    """Tell how far the member of tier ``code`` with ``facts`` is from the next tier."""
    level = ladder.level_of(code)
    if level + 1 >= len(ladder.tiers):
        return Progress(None, False, None, None)
    upper = ladder.tiers[level + 1]
    qualifies = upper.qualify is not None and upper.qualify.holds(facts)
    needed = upper.qualify.growth_floor() if upper.qualify is not None else None
    percent = None
    if needed:
        percent = min(100, max(0, facts.growth) * 100 // needed)
    return Progress(upper, qualifies, needed, percent)


def growth_thresholds(config: Mapping[str, Any]) -> list[int | None]:
    """Return the growth each tier above the first qualifies at (None: no growth condition).

    A growth condition counts when it is the tier's whole qualification or one branch of its
    top-level ``any``, the two shapes :func:`with_growth_thresholds` writes.
    """
    found: list[int | None] = []
    for tier in list(config.get("tiers", []))[1:]:
        qualify = tier.get("qualify") if isinstance(tier, Mapping) else None
        found.append(_growth_branch(qualify))
    return found


def _growth_branch(qualify: Any) -> int | None:
    if not isinstance(qualify, Mapping):
        return None
    value = qualify.get("growth_at_least")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    for part in qualify.get("any", []) if isinstance(qualify.get("any"), list) else []:
        if isinstance(part, Mapping) and set(part) == {"growth_at_least"}:
            inner = part["growth_at_least"]
            if isinstance(inner, int) and not isinstance(inner, bool):
                return inner
    return None


def with_growth_thresholds(config: Mapping[str, Any], growth: list[int]) -> dict[str, Any]:
    """Return a copy of the ladder's JSON with each tier above the first qualifying at ``growth``.

    The growth condition is replaced where it is (the whole qualification or a branch of its
    top-level ``any``); a tier with other conditions only gains one more ``any`` branch, so
    it qualifies on growth alone too, as the simulator counts it. The parser checks the rest.
    """
    tiers = [dict(tier) if isinstance(tier, Mapping) else tier for tier in config["tiers"]]
    if len(growth) != len(tiers) - 1:
        raise LadderError(_("give one growth threshold per tier above the first"))
    for tier, value in zip(tiers[1:], growth, strict=True):
        if not isinstance(tier, dict):
            continue
        qualify = tier.get("qualify")
        branch = {"growth_at_least": value}
        if not isinstance(qualify, Mapping) or "growth_at_least" in qualify:
            tier["qualify"] = (
                {**(qualify or {}), **branch} if isinstance(qualify, Mapping) else branch
            )
            continue
        parts = qualify.get("any")
        if isinstance(parts, list) and len(qualify) == 1:
            kept = [
                p for p in parts if not (isinstance(p, Mapping) and set(p) == {"growth_at_least"})
            ]
            tier["qualify"] = {"any": [branch, *kept]}
        else:
            tier["qualify"] = {"any": [branch, dict(qualify)]}
    return {**config, "tiers": tiers}
