"""Pure analytics rules: the program's RFM and lifecycle settings, lifecycle states, cut-offs.

Plain data in, plain data out; the RFM scores and the eight classes themselves are
:mod:`memberkit.analytics.rfm`. Days are the program's local days; "``d`` days ago" is
``(as_of - d).days``, so a purchase today is 0 days ago, and "within ``N`` days" means fewer
than ``N`` days ago (today and the ``N - 1`` days before).

**Lifecycle** (生命周期), one state per member on the day ``as_of``, decided in this order:

1. *churned* (流失): the last purchase was ``churned_days`` or more days ago;
2. *dormant* (沉睡): the last purchase was ``dormant_days`` or more days ago;
3. *new* (新客): the first purchase was fewer than ``new_days`` days ago;
4. *won back* (回流): the first purchase within the last ``dormant_days`` days came more than
   ``dormant_days`` days after the purchase before it (the member had been dormant and bought
   again);
5. *active* (活跃): otherwise — bought within ``dormant_days`` days, not new, not won back.

A member who never bought counts from the day they registered: *new* while registered fewer
than ``new_days`` days ago, then *dormant*, and *churned* from ``churned_days`` days on (a
member who has not bought since joining is asleep, not active).

**Cut-offs**: a full refresh scores every member against the others (quintiles,
:func:`memberkit.analytics.rfm.score`). An incremental refresh of a few members after an order
scores them against the last full refresh instead, through :class:`Cutoffs` — per dimension
the value a member needs for each score from 2 to 5, and the sums that give the means. A member
whose values equal another's of the full refresh gets exactly that member's scores.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from fractions import Fraction
from typing import Any

from memberkit.analytics.rfm import BANDS, Cut, Purchases, Scored, Threshold
from memberkit.kit.i18n import TextError, _


class AnalyticsError(TextError):
    """An analytics setting that does not make sense."""


class Lifecycle(StrEnum):
    """A member's lifecycle state (see the module's docstring for the rule)."""

    new = "new"
    active = "active"
    won_back = "won_back"
    dormant = "dormant"
    churned = "churned"


#: What each state is called on screens.
LIFECYCLE_NAMES: Mapping[Lifecycle, str] = {
    Lifecycle.new: _("new customers"),
    Lifecycle.active: _("active customers"),
    Lifecycle.won_back: _("won-back customers"),
    Lifecycle.dormant: _("dormant customers"),
    Lifecycle.churned: _("churned customers"),
}

#: The states in which a member counts as active for the three active classes.
ACTIVE_STATES = frozenset({Lifecycle.new, Lifecycle.active, Lifecycle.won_back})

DEFAULT_ANALYTICS: dict[str, Any] = {
    "window_days": 365,
    "cut": "score",
    "at": 4,
    "new_days": 30,
    "dormant_days": 90,
    "churned_days": 180,
}

#: The longest window or lifecycle span, in days (ten years).
MAX_DAYS = 3650


@dataclass(frozen=True)
class AnalyticsRules:
    """A program's RFM and lifecycle settings.

    ``window_days``: the RFM window, the purchases of the last so many days (today included).
    ``threshold``: what counts as high in R, F and M (a score of at least ``at``, or better than
    the mean); the eight classes and the three active classes both read it.
    ``new_days`` ≤ ``dormant_days`` < ``churned_days``: the lifecycle's spans.
    """

    window_days: int = 365
    threshold: Threshold = field(default_factory=Threshold)
    new_days: int = 30
    dormant_days: int = 90
    churned_days: int = 180

    def config(self) -> dict[str, Any]:
        """Return the settings in their canonical stored form."""
        return {
            "window_days": self.window_days,
            "cut": self.threshold.cut.value,
            "at": self.threshold.at,
            "new_days": self.new_days,
            "dormant_days": self.dormant_days,
            "churned_days": self.churned_days,
        }


def _days(config: Mapping[str, Any], name: str, low: int, high: int) -> int:
    value = config.get(name, DEFAULT_ANALYTICS[name])
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise AnalyticsError(
            _("{name} must be a whole number from {low} to {high}"), name=name, low=low, high=high
        )
    return value


def parse_analytics(config: Mapping[str, Any] | None) -> AnalyticsRules:
    """Build the settings from JSON (None: the defaults); raise :class:`AnalyticsError`."""
    config = config or {}
    if not isinstance(config, Mapping):
        raise AnalyticsError(_("the analytics settings are an object"))
    unknown = set(config) - set(DEFAULT_ANALYTICS)
    if unknown:
        raise AnalyticsError(
            _("unknown analytics settings: {unknown}"),
            unknown=", ".join(sorted(map(str, unknown))),
        )
    cut = config.get("cut", DEFAULT_ANALYTICS["cut"])
    if not isinstance(cut, str) or cut not in {c.value for c in Cut}:
        raise AnalyticsError(_('cut is "score" (a score of at least "at") or "mean"'))
    at = _days(config, "at", 1, BANDS)
    new_days = _days(config, "new_days", 1, MAX_DAYS)
    dormant_days = _days(config, "dormant_days", 1, MAX_DAYS)
    churned_days = _days(config, "churned_days", 1, MAX_DAYS)
    if not new_days <= dormant_days < churned_days:
        raise AnalyticsError(
            _(
                "the days must run new_days ≤ dormant_days < churned_days (given {new}, {dormant}, "
                "{churned})"
            ),
            new=new_days,
            dormant=dormant_days,
            churned=churned_days,
        )
    return AnalyticsRules(
        window_days=_days(config, "window_days", 1, MAX_DAYS),
        threshold=Threshold(Cut(cut), at),
        new_days=new_days,
        dormant_days=dormant_days,
        churned_days=churned_days,
    )


@dataclass(frozen=True)
class History:
    """What the lifecycle reads of one member, in local days.

    ``recent_first_on``: the first purchase within the last ``dormant_days`` days (None: none);
    ``previous_on``: the last purchase before those days (None: none).
    """

    registered_on: date
    first_purchase_on: date | None = None
    last_purchase_on: date | None = None
    recent_first_on: date | None = None
    previous_on: date | None = None


def lifecycle(history: History, *, as_of: date, rules: AnalyticsRules) -> Lifecycle:
    """Return the member's lifecycle state on ``as_of`` (the rule of the module's docstring)."""
    if history.last_purchase_on is None or history.first_purchase_on is None:
        since = (as_of - history.registered_on).days
        if since >= rules.churned_days:
            return Lifecycle.churned
        return Lifecycle.new if since < rules.new_days else Lifecycle.dormant
    since_last = (as_of - history.last_purchase_on).days
    if since_last >= rules.churned_days:
        return Lifecycle.churned
    if since_last >= rules.dormant_days:
        return Lifecycle.dormant
    if (as_of - history.first_purchase_on).days < rules.new_days:
        return Lifecycle.new
    gap = return_gap(history)
    if gap is not None and gap > rules.dormant_days:
        return Lifecycle.won_back
    return Lifecycle.active


def return_gap(history: History) -> int | None:
    """Days between the last purchase before the recent span and the first within it."""
    if history.recent_first_on is None or history.previous_on is None:
        return None
    return (history.recent_first_on - history.previous_on).days


@dataclass(frozen=True)
class Cutoffs:
    """What a full refresh's scores were cut at, to score a few members against it later.

    ``recency[k - 2]``: the most days since the last purchase that still score ``k`` or more
    (k = 2…5); ``frequency[k - 2]`` and ``monetary[k - 2]``: the least that scores ``k`` or
    more. ``scored`` members had ``sum_days``, ``sum_count`` and ``sum_monetary`` in total.
    """

    scored: int
    recency: tuple[int, int, int, int]
    frequency: tuple[int, int, int, int]
    monetary: tuple[int, int, int, int]
    sum_days: int
    sum_count: int
    sum_monetary: int

    def means(self) -> tuple[Fraction, Fraction, Fraction]:
        """The exact means of days since, count and monetary of the scored members."""
        n = self.scored
        return (
            Fraction(self.sum_days, n),
            Fraction(self.sum_count, n),
            Fraction(self.sum_monetary, n),
        )


def _needed(n: int, k: int) -> int:
    """How many members must do strictly worse for a score of ``k``: ⌈(k − 1)·n / 5⌉."""
    return -(-(k - 1) * n // BANDS)


def cutoffs(members: Sequence[Purchases]) -> Cutoffs | None:
    """Return the cut-offs of scoring ``members`` together (None: nobody to score)."""
    n = len(members)
    if not n:
        return None
    days = sorted((p.days_since for p in members), reverse=True)
    counts = sorted(p.count for p in members)
    spends = sorted(p.monetary_minor for p in members)
    ks = range(2, BANDS + 1)
    return Cutoffs(
        scored=n,
        recency=tuple(days[_needed(n, k) - 1] - 1 for k in ks),  # type: ignore[arg-type]
        frequency=tuple(counts[_needed(n, k) - 1] + 1 for k in ks),  # type: ignore[arg-type]
        monetary=tuple(spends[_needed(n, k) - 1] + 1 for k in ks),  # type: ignore[arg-type]
        sum_days=sum(days),
        sum_count=sum(counts),
        sum_monetary=sum(spends),
    )


def score_against(purchases: Purchases, cut: Cutoffs, threshold: Threshold) -> Scored:
    """Score one member against a full refresh's cut-offs (as if they had been in it)."""
    r = 1 + sum(purchases.days_since <= most for most in cut.recency)
    f = 1 + sum(purchases.count >= least for least in cut.frequency)
    m = 1 + sum(purchases.monetary_minor >= least for least in cut.monetary)
    if threshold.cut is Cut.score:
        high = (r >= threshold.at, f >= threshold.at, m >= threshold.at)
    else:
        mean_days, mean_count, mean_spend = cut.means()
        high = (
            purchases.days_since < mean_days,
            purchases.count > mean_count,
            purchases.monetary_minor > mean_spend,
        )
    return Scored(purchases.member_id, r, f, m, *high)
