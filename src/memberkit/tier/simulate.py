"""The tier simulator (what-if): today's distribution and where thresholds would put members.

One aggregate query per question, so it answers on a million members quickly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from memberkit.errors import InvalidInput
from memberkit.kit.i18n import Text, _
from memberkit.tier import queries
from memberkit.tier.rules import Ladder

GROWTH_EDGES = (0, 100, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000)
SPEND_EDGES = (0, 10_000, 50_000, 100_000, 200_000, 500_000, 1_000_000, 2_000_000, 5_000_000)


class InvalidThresholds(InvalidInput):
    """Proposed thresholds that do not fit the ladder."""

    code = "invalid_thresholds"
    message = _("Invalid thresholds: {problem}")


@dataclass(frozen=True)
class Proposal:
    """Proposed thresholds: minimum growth per tier above the first (rising).

    Optionally a rolling-spend alternative (minor units, one per tier; 0 means none) within
    ``spend_days``.
    """

    growth: list[int]
    spend: list[int] | None = None
    spend_days: int = 30

    def check(self, ladder: Ladder) -> None:
        """Refuse thresholds that do not rise or do not match the ladder's tiers."""
        levels = len(ladder.tiers) - 1
        if len(self.growth) != levels:
            raise InvalidThresholds(
                problem=Text(
                    _("give {levels} growth thresholds, one per tier above {code}"),
                    levels=levels,
                    code=ladder.tiers[0].code,
                )
            )
        if any(g < 0 for g in self.growth) or any(
            b <= a for a, b in zip(self.growth, self.growth[1:], strict=False)
        ):
            raise InvalidThresholds(
                problem=Text(_("growth thresholds must rise from tier to tier"))
            )
        if self.spend is not None and len(self.spend) != levels:
            raise InvalidThresholds(
                problem=Text(_("give {levels} spend thresholds (0 for none)"), levels=levels)
            )
        if self.spend is not None and any(s < 0 for s in self.spend):
            raise InvalidThresholds(problem=Text(_("spend thresholds must not be negative")))
        if not 1 <= self.spend_days <= 730:
            raise InvalidThresholds(problem=Text(_("spend_days must be from 1 to 730")))


@dataclass(frozen=True)
class Bucket:
    """Members whose value lies in [low, high); ``high`` None is open-ended."""

    low: int
    high: int | None
    members: int


@dataclass(frozen=True)
class TierCount:
    """Members in one tier today and under the proposal."""

    code: str
    name: str
    today: int
    proposed: int


@dataclass(frozen=True)
class Simulation:
    """The answer: distributions, counts per tier, and how many would move."""

    members: int
    growth_histogram: list[Bucket]
    spend_histogram: list[Bucket]
    spend_days: int
    tiers: list[TierCount]
    up: int
    down: int
    unchanged: int


def _buckets(edges: tuple[int, ...], counts: list[int]) -> list[Bucket]:
    return [
        Bucket(edge, edges[i + 1] if i + 1 < len(edges) else None, counts[i])
        for i, edge in enumerate(edges)
    ]


def simulate(
    session: Session,
    *,
    program_id: int,
    ladder: Ladder,
    proposal: Proposal,
    now: datetime,
    history: bool = False,
) -> Simulation:
    """Answer the what-if for every open member of the program.

    Spend is of live orders, and of history ones with ``history`` (``counts_for_tiers``).
    """
    proposal.check(ladder)
    groups = queries.simulation_groups(
        session,
        program_id=program_id,
        levels=len(ladder.tiers),
        growth=proposal.growth,
        spend=proposal.spend,
        spend_days=proposal.spend_days,
        growth_edges=GROWTH_EDGES,
        spend_edges=SPEND_EDGES,
        now=now,
        history=history,
    )
    now_counts = [0] * len(ladder.tiers)
    new_counts = [0] * len(ladder.tiers)
    growth_counts = [0] * len(GROWTH_EDGES)
    spend_counts = [0] * len(SPEND_EDGES)
    up = down = same = 0
    for code, will, in_growth, in_spend, count in groups:
        was = ladder.level_of(code)
        now_counts[was] += count
        new_counts[will] += count
        growth_counts[in_growth] += count
        spend_counts[in_spend] += count
        if will > was:
            up += count
        elif will < was:
            down += count
        else:
            same += count
    return Simulation(
        members=up + down + same,
        growth_histogram=_buckets(GROWTH_EDGES, growth_counts),
        spend_histogram=_buckets(SPEND_EDGES, spend_counts),
        spend_days=proposal.spend_days,
        tiers=[
            TierCount(t.code, t.name, now_counts[t.level], new_counts[t.level])
            for t in ladder.tiers
        ],
        up=up,
        down=down,
        unchanged=same,
    )
