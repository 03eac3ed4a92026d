"""Pure RFM rules (R = recency, F = frequency, M = monetary): scores, the eight classes.

Plain data in, plain data out. A member is scored over a window of days ending on the day of
scoring, from the purchases in it: ``days_since`` the last one (recency), how many there were
(frequency) and what they came to in minor units (monetary). Members with no purchase in the
window are not scored (the lifecycle says they are dormant or churned).

**Scores** are quintiles, 5 the best: the most recent (fewest days since), the most frequent,
the highest spend. A member's score in a dimension is ``1 + ⌊5 × b / n⌋`` where ``n`` members
are scored and ``b`` of them do strictly worse in it, so equal values always share a score and
a score of 5 means doing better than at least 80 % of the others.

**High or low** per dimension, by one of two thresholds the merchant picks: a score of at
least ``at`` (4 by default), or a value above the mean of the scored members.

**The eight classes** (八类客户), stated here and nowhere else (M decides 重要/一般; then
recency and frequency):

=====  =====  =====  =================  ========================
R      F      M      class              名称
=====  =====  =====  =================  ========================
high   high   high   important_value    重要价值客户
low    high   high   important_keep     重要保持客户
high   low    high   important_develop  重要发展客户
low    low    high   important_win_back 重要挽留客户
high   high   low    general_value      一般价值客户
low    high   low    general_keep       一般保持客户
high   low    low    general_develop    一般发展客户
low    low    low    general_win_back   一般挽留客户
=====  =====  =====  =================  ========================

发展 (develop) is a recent customer who does not come often yet: bring them back more; 挽留
(win back) is one who neither came lately nor often: keep them from leaving. Many published
tables swap the two; this one does not.

**The three classes of active members** (the seed's 忠诚 / 机会 / 随机), among the scored:
loyal (忠诚客户) buys often — frequency high; opportunity (机会客户) does not buy often but
spends much when they do — frequency low, monetary high; random (随机客户) neither. The rule
reads the same high/low thresholds, so changing them changes both classifications alike.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

from memberkit.kit.i18n import _

#: The number of score bands (quintiles).
BANDS = 5


class RfmClass(StrEnum):
    """The eight RFM classes, named by what they are worth and what to do with them."""

    important_value = "important_value"
    important_keep = "important_keep"
    important_develop = "important_develop"
    important_win_back = "important_win_back"
    general_value = "general_value"
    general_keep = "general_keep"
    general_develop = "general_develop"
    general_win_back = "general_win_back"


#: (R high, F high, M high) → class: the table of the module's docstring.
CLASSES: Mapping[tuple[bool, bool, bool], RfmClass] = {
    (True, True, True): RfmClass.important_value,
    (False, True, True): RfmClass.important_keep,
    (True, False, True): RfmClass.important_develop,
    (False, False, True): RfmClass.important_win_back,
    (True, True, False): RfmClass.general_value,
    (False, True, False): RfmClass.general_keep,
    (True, False, False): RfmClass.general_develop,
    (False, False, False): RfmClass.general_win_back,
}

#: What each class is called on screens.
CLASS_NAMES: Mapping[RfmClass, str] = {
    RfmClass.important_value: _("important value customers"),
    RfmClass.important_keep: _("important to keep customers"),
    RfmClass.important_develop: _("important to develop customers"),
    RfmClass.important_win_back: _("important to win back customers"),
    RfmClass.general_value: _("general value customers"),
    RfmClass.general_keep: _("general to keep customers"),
    RfmClass.general_develop: _("general to develop customers"),
    RfmClass.general_win_back: _("general to win back customers"),
}


class ActiveClass(StrEnum):
    """The seed's three classes of active (scored) members."""

    loyal = "loyal"  # 忠诚客户
    opportunity = "opportunity"  # 机会客户
    random = "random"  # 随机客户


class Cut(StrEnum):
    """How high is told from low in a dimension."""

    score = "score"  # a score of at least ``at``
    mean = "mean"  # a value better than the mean of the scored members


@dataclass(frozen=True)
class Threshold:
    """The merchant's threshold of "high" (the same for the three dimensions)."""

    cut: Cut = Cut.score
    at: int = 4

    def __post_init__(self) -> None:
        """Refuse a score threshold outside the bands."""
        if self.cut is Cut.score and not 1 <= self.at <= BANDS:
            raise ValueError(f"a score threshold is 1 to {BANDS}")


@dataclass(frozen=True)
class Purchases:
    """One member's purchases in the window: days since the last, how many, their sum."""

    member_id: int
    days_since: int
    count: int
    monetary_minor: int

    def __post_init__(self) -> None:
        """Refuse what no member's purchases in a window can be."""
        if self.days_since < 0 or self.count < 1 or self.monetary_minor < 0:
            raise ValueError("a scored member has a purchase in the window")


@dataclass(frozen=True)
class Scored:
    """A member's RFM scores (1–5), whether each dimension is high, and their classes."""

    member_id: int
    r: int
    f: int
    m: int
    r_high: bool
    f_high: bool
    m_high: bool

    @property
    def rfm_class(self) -> RfmClass:
        """The member's class of the eight."""
        return CLASSES[(self.r_high, self.f_high, self.m_high)]

    @property
    def active_class(self) -> ActiveClass:
        """The member's class of the three (loyal, opportunity, random)."""
        if self.f_high:
            return ActiveClass.loyal
        return ActiveClass.opportunity if self.m_high else ActiveClass.random

    @property
    def code(self) -> str:
        """The three scores as the familiar code, e.g. ``"545"``."""
        return f"{self.r}{self.f}{self.m}"


def band(worse: int, scored: int) -> int:
    """The score of a member ``worse`` of the ``scored`` members do strictly worse than."""
    if not 0 <= worse < scored:
        raise ValueError("fewer members do worse than are scored")
    return 1 + BANDS * worse // scored


def _bands(values: Sequence[int], *, smaller_is_better: bool) -> list[int]:
    """Each value's score: how many values are strictly worse, in bands of the whole."""
    ordered = sorted(values)
    n = len(values)
    out = []
    for value in values:
        below = _count_below(ordered, value)
        worse = n - below - _count_equal(ordered, value) if smaller_is_better else below
        out.append(band(worse, n))
    return out


def _count_below(ordered: Sequence[int], value: int) -> int:
    return bisect_left(ordered, value)


def _count_equal(ordered: Sequence[int], value: int) -> int:
    return bisect_right(ordered, value) - bisect_left(ordered, value)


def score(members: Sequence[Purchases], threshold: Threshold = Threshold()) -> list[Scored]:
    """Score ``members`` against each other and tell high from low by ``threshold``.

    The result is in the order of ``members``. With the ``mean`` cut a dimension is high when
    the member's value is better than the mean (recency: fewer days since the last purchase;
    frequency and monetary: more), the mean computed exactly.
    """
    if not members:
        return []
    days = [m.days_since for m in members]
    counts = [m.count for m in members]
    spends = [m.monetary_minor for m in members]
    r = _bands(days, smaller_is_better=True)
    f = _bands(counts, smaller_is_better=False)
    m = _bands(spends, smaller_is_better=False)
    if threshold.cut is Cut.score:
        highs = [
            (rs >= threshold.at, fs >= threshold.at, ms >= threshold.at)
            for rs, fs, ms in zip(r, f, m, strict=True)
        ]
    else:
        n = len(members)
        mean_days, mean_count, mean_spend = (Fraction(sum(v), n) for v in (days, counts, spends))
        highs = [
            (p.days_since < mean_days, p.count > mean_count, p.monetary_minor > mean_spend)
            for p in members
        ]
    return [
        Scored(p.member_id, rs, fs, ms, *high)
        for p, rs, fs, ms, high in zip(members, r, f, m, highs, strict=True)
    ]
