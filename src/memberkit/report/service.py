"""The reports: sales, points and stored value, members — each for a period, store and tier.

Each use case first decides the stores the viewer may see (:func:`rules.scope`, refusing
another store's), then reads. Definitions of every figure are in the README ("Reports").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from memberkit.analytics import queries as analytics_queries
from memberkit.analytics.repository import LocalDays
from memberkit.analytics.rules import Lifecycle
from memberkit.analytics.settings import ANALYTICS
from memberkit.kit.time import start_of_local_day
from memberkit.ledger import liability
from memberkit.ledger.models import AccountCode, Asset, TransactionKind
from memberkit.ledger.queries import LIABILITY_HORIZONS
from memberkit.program.service import ProgramConfig
from memberkit.report import queries
from memberkit.report.rules import (
    MOST_COHORT_MONTHS,
    MOST_LIFECYCLE_BUCKETS,
    Bucket,
    Filters,
    average_minor,
    buckets,
    months,
    ratio,
    scope,
)
from memberkit.store import queries as store_queries


@dataclass(frozen=True)
class Asked:
    """The filters as the report applied them; ``stores``: the stores it covers (None: all)."""

    date_from: date
    date_to: date
    grain: str
    store: str | None
    tier: str | None
    stores: list[str] | None


def _asked(filters: Filters, stores: frozenset[str] | None) -> Asked:
    return Asked(
        filters.date_from,
        filters.date_to,
        str(filters.grain),
        filters.store,
        filters.tier,
        None if stores is None else sorted(stores),
    )


def _bounds(program: ProgramConfig, cut: list[Bucket]) -> list[Any]:
    return [start_of_local_day(b.start, program.tz) for b in cut] + [
        start_of_local_day(cut[-1].end, program.tz)
    ]


# Sales


@dataclass(frozen=True)
class SalesRow:
    """Sales of one group (a bucket's label, a store's code, a tier's code; None: see where).

    ``sales_minor`` net of refunds; ``orders`` not fully refunded; ``buyers`` distinct members
    who bought; ``frequency`` member orders per buyer; ``member_share`` of the sales.
    """

    key: str | None
    sales_minor: int
    orders: int
    average_order_minor: int
    buyers: int
    frequency: Decimal | None
    member_sales_minor: int
    member_orders: int
    non_member_sales_minor: int
    non_member_orders: int
    member_share: Decimal | None


def _sales_row(key: str | None, sums: queries.SalesSums | None) -> SalesRow:
    sums = sums or queries.SalesSums(key)
    return SalesRow(
        key=key,
        sales_minor=sums.sales_minor,
        orders=sums.orders,
        average_order_minor=average_minor(sums.sales_minor, sums.orders),
        buyers=sums.buyers,
        frequency=ratio(sums.member_orders, sums.buyers),
        member_sales_minor=sums.member_sales_minor,
        member_orders=sums.member_orders,
        non_member_sales_minor=sums.sales_minor - sums.member_sales_minor,
        non_member_orders=sums.orders - sums.member_orders,
        member_share=ratio(sums.member_sales_minor, sums.sales_minor),
    )


@dataclass(frozen=True)
class SalesReport:
    """Sales of the period: in total, by bucket, by store (None: online), by tier.

    In ``by_tier`` the key None holds the non-member sales.
    """

    filters: Asked
    total: SalesRow
    by_period: list[SalesRow]
    by_store: list[SalesRow]
    by_tier: list[SalesRow]


def sales(
    session: Session,
    *,
    program: ProgramConfig,
    filters: Filters,
    viewer: Collection[str] | None,
) -> SalesReport:
    """The sales report; ``viewer``: the stores a store-bound viewer may see (None: all)."""
    stores = scope(viewer, filters.store)
    cut = buckets(filters.date_from, filters.date_to, filters.grain)
    bounds = _bounds(program, cut)

    def read(by: str) -> list[queries.SalesSums]:
        return queries.sales(
            session,
            program_id=program.id,
            bounds=bounds,
            stores=stores,
            tier=filters.tier,
            by=by,
        )

    total = read("total")
    per_bucket = {int(row.key): row for row in read("bucket")}
    tiers = {row.key: row for row in read("tier")}
    ladder = [tier.code for tier in program.ladder.tiers]
    tier_order = ladder + sorted(k for k in tiers if k is not None and k not in ladder)
    return SalesReport(
        filters=_asked(filters, stores),
        total=_sales_row(None, total[0] if total else None),
        by_period=[_sales_row(b.label, per_bucket.get(n)) for n, b in enumerate(cut)],
        by_store=[
            _sales_row(row.key, row)
            for row in sorted(read("store"), key=lambda r: (r.key is None, r.key or ""))
        ],
        by_tier=[_sales_row(code, tiers.get(code)) for code in tier_order if code in tiers]
        + ([_sales_row(None, tiers[None])] if None in tiers else []),
    )


# Points and stored value


@dataclass
class PointsFlow:
    """Points of one bucket: issued, redeemed, expired, adjusted.

    Issued: earned less claw-backs; redeemed: spent less returned; adjusted: manual credits
    less manual debits.
    """

    key: str | None
    issued: int = 0
    redeemed: int = 0
    expired: int = 0
    adjusted: int = 0


@dataclass
class WalletFlow:
    """Stored value of one bucket, in minor units.

    Principal recharged and refunded, bonus given and forfeited, and what orders spent of
    each (less what their refunds returned).
    """

    key: str | None
    recharged_principal: int = 0
    bonus_given: int = 0
    refunded_principal: int = 0
    bonus_forfeited: int = 0
    spent_principal: int = 0
    spent_bonus: int = 0


@dataclass(frozen=True)
class Outstanding:
    """What is owed at the end of the period: the liability report's total, shared as is."""

    at: Any
    points: int
    points_debt: int
    points_value_minor: int
    expiring: dict[int, int]
    wallet_principal: int
    wallet_bonus: int


@dataclass(frozen=True)
class PointsReport:
    """Points and stored value: flows of the period (total and by bucket), and what is owed.

    ``breakage_rate``: points expired in the period / points issued in the period.
    """

    filters: Asked
    points: PointsFlow
    points_by_period: list[PointsFlow]
    breakage_rate: Decimal | None
    wallet: WalletFlow
    wallet_by_period: list[WalletFlow]
    outstanding: Outstanding


def _add_flow(
    points: PointsFlow, wallet: WalletFlow, asset: str, code: str, kind: str, total: int
) -> None:
    if asset == Asset.points:
        if code == AccountCode.issued:
            points.issued -= total
        elif code == AccountCode.redeemed:
            points.redeemed += total
        elif code == AccountCode.expired:
            points.expired += total
        elif code == AccountCode.adjusted:
            points.adjusted -= total
        return
    principal = asset == Asset.wallet_principal
    if code == AccountCode.recharged:
        if kind == TransactionKind.recharge:
            if principal:
                wallet.recharged_principal -= total
            else:
                wallet.bonus_given -= total
        elif principal:
            wallet.refunded_principal += total
        else:
            wallet.bonus_forfeited += total
    elif code == AccountCode.redeemed:
        if principal:
            wallet.spent_principal += total
        else:
            wallet.spent_bonus += total


def points(
    session: Session,
    *,
    program: ProgramConfig,
    filters: Filters,
    viewer: Collection[str] | None,
) -> PointsReport:
    """The points and stored value report; outstanding figures are the liability report's."""
    stores = scope(viewer, filters.store)
    cut = buckets(filters.date_from, filters.date_to, filters.grain)
    bounds = _bounds(program, cut)
    by_points = [PointsFlow(b.label) for b in cut]
    by_wallet = [WalletFlow(b.label) for b in cut]
    total_points, total_wallet = PointsFlow(None), WalletFlow(None)
    for n, asset, code, kind, amount in queries.ledger_flows(
        session, program_id=program.id, bounds=bounds, stores=stores, tier=filters.tier
    ):
        if n >= len(cut) or asset == Asset.growth:
            continue
        _add_flow(by_points[n], by_wallet[n], asset, code, kind, amount)
        _add_flow(total_points, total_wallet, asset, code, kind, amount)
    owed = liability.report(
        session, program=program, on=filters.date_to, stores=stores, tier=filters.tier
    )
    return PointsReport(
        filters=_asked(filters, stores),
        points=total_points,
        points_by_period=by_points,
        breakage_rate=ratio(total_points.expired, total_points.issued),
        wallet=total_wallet,
        wallet_by_period=by_wallet,
        outstanding=Outstanding(
            at=owed.at,
            points=owed.total.points,
            points_debt=owed.total.points_debt,
            points_value_minor=owed.value_minor(owed.total.points),
            expiring={days: owed.total.expiring[days] for days in LIABILITY_HORIZONS},
            wallet_principal=owed.total.wallet_principal,
            wallet_bonus=owed.total.wallet_bonus,
        ),
    )


# Members


@dataclass(frozen=True)
class MemberGroup:
    """Members of one group (tier, home store, channel): by the period's end, and new in it."""

    key: str | None
    members: int
    new: int


@dataclass(frozen=True)
class TierMoves:
    """Moves between tiers in one bucket: up and down the ladder (a kept tier is no move)."""

    key: str
    upgrades: int = 0
    downgrades: int = 0


@dataclass(frozen=True)
class Cohort:
    """Members who joined in ``month``, and the share of them who bought in each month after.

    ``buyers[k]`` members bought in the k-th month after joining (0: the month of joining);
    ``retention[k]`` = ``buyers[k] / members``. Only months up to the period's end are given.
    """

    month: str
    members: int
    buyers: list[int]
    retention: list[Decimal | None]


@dataclass(frozen=True)
class LifecyclePeriod:
    """Members per lifecycle state on ``as_of``, the last day of the bucket ``key``.

    Members registered by then, in their state on that day by the program's lifecycle
    settings (the analytics section), decided from the orders made by then: the figures do
    not depend on when an RFM refresh ran.
    """

    key: str
    as_of: date
    new: int = 0
    active: int = 0
    won_back: int = 0
    dormant: int = 0
    churned: int = 0


@dataclass(frozen=True)
class MembersReport:
    """Members: totals, new by bucket, groups, cohorts, repurchase, referral and tier moves.

    ``lifecycle_by_period``: members per lifecycle state at the end of each bucket (the last
    :data:`MOST_LIFECYCLE_BUCKETS` of the period). ``lifecycle``: members per lifecycle state
    as of the last RFM refresh (``lifecycle_as_of``; None before any), for the store and tier
    asked.
    """

    filters: Asked
    total: int
    new: int
    new_by_period: list[MemberGroup]
    by_tier: list[MemberGroup]
    by_store: list[MemberGroup]
    by_channel: list[MemberGroup]
    buyers: int
    repeat_buyers: int
    repurchase_rate: Decimal | None
    referred: int
    referral_rate: Decimal | None
    tier_moves: list[TierMoves]
    cohorts: list[Cohort]
    lifecycle_by_period: list[LifecyclePeriod]
    lifecycle: dict[str, int]
    lifecycle_as_of: date | None


def members(
    session: Session,
    *,
    program: ProgramConfig,
    filters: Filters,
    viewer: Collection[str] | None,
) -> MembersReport:
    """The members report (cohorts by calendar month of joining, within the period)."""
    stores = scope(viewer, filters.store)
    cut = buckets(filters.date_from, filters.date_to, filters.grain)
    bounds = _bounds(program, cut)
    common: dict[str, Any] = {
        "program_id": program.id,
        "bounds": bounds,
        "stores": stores,
        "tier": filters.tier,
    }

    def grouped(by: str) -> list[MemberGroup]:
        rows = queries.member_counts(session, by=by, **common)
        return [
            MemberGroup(key, count, new)
            for key, count, new, _referred in sorted(
                rows, key=lambda r: (r[0] is None, str(r[0] or ""))
            )
        ]

    totals = queries.member_counts(session, by="total", **common)
    total, new, referred = (totals[0][1], totals[0][2], totals[0][3]) if totals else (0, 0, 0)
    per_bucket = {
        int(k): n for k, _all, n, _r in queries.member_counts(session, by="bucket", **common)
    }
    by_tier = {g.key: g for g in grouped("tier")}
    ladder = [tier.code for tier in program.ladder.tiers]
    once, twice = queries.buyers_by_orders(
        session,
        program_id=program.id,
        start=bounds[0],
        end=bounds[-1],
        stores=stores,
        tier=filters.tier,
    )
    return MembersReport(
        filters=_asked(filters, stores),
        total=total,
        new=new,
        new_by_period=[
            MemberGroup(b.label, per_bucket.get(n, 0), per_bucket.get(n, 0))
            for n, b in enumerate(cut)
        ],
        by_tier=[by_tier[c] for c in ladder if c in by_tier]
        + [g for k, g in by_tier.items() if k not in ladder],
        by_store=grouped("store"),
        by_channel=grouped("channel"),
        buyers=once,
        repeat_buyers=twice,
        repurchase_rate=ratio(twice, once),
        referred=referred,
        referral_rate=ratio(referred, new),
        tier_moves=_moves(session, program, cut, common),
        cohorts=_cohorts(session, program, filters, stores),
        lifecycle_by_period=_lifecycle_by_period(session, program, cut, stores, filters.tier),
        **_lifecycle(session, program, stores, filters.tier),
    )


def _lifecycle(
    session: Session, program: ProgramConfig, stores: frozenset[str] | None, tier: str | None
) -> dict[str, Any]:
    """Members per lifecycle state (the last RFM refresh's), of these stores and this tier."""
    store_ids = None
    if stores is not None:
        known = store_queries.ids_by_code(session, program_id=program.id)
        store_ids = [known[code] for code in stores if code in known]
    last = analytics_queries.latest_refresh(session, program_id=program.id)
    return {
        "lifecycle": analytics_queries.lifecycle_counts(
            session,
            program_id=program.id,
            store_ids=store_ids,
            tier_codes=None if tier is None else [tier],
        ),
        "lifecycle_as_of": None if last is None else last.as_of,
    }


def _lifecycle_by_period(
    session: Session,
    program: ProgramConfig,
    cut: list[Bucket],
    stores: frozenset[str] | None,
    tier: str | None,
) -> list[LifecyclePeriod]:
    """Members per lifecycle state on the last day of each of the last buckets."""
    rules = program.section(ANALYTICS)
    tz = program.tz
    shown = cut[-MOST_LIFECYCLE_BUCKETS:]
    # One reading of the zone's offsets for every bucket (on SQLite it queries the span).
    days = LocalDays(session, program_id=program.id, tz=tz, as_of=shown[-1].end - timedelta(days=1))
    out = []
    for bucket in shown:
        as_of = bucket.end - timedelta(days=1)

        def within(span: int, as_of: date = as_of) -> datetime:
            # the first instant of the last ``span`` local days to ``as_of``
            return start_of_local_day(as_of - timedelta(days=span - 1), tz)

        marks = queries.LifecycleMarks(
            end=start_of_local_day(bucket.end, tz),
            new_from=within(rules.new_days),
            recent=within(rules.dormant_days),
            churned_from=within(rules.churned_days),
            dormant_days=rules.dormant_days,
        )
        counts = queries.lifecycle_counts(
            session, program_id=program.id, marks=marks, days=days, stores=stores, tier=tier
        )
        out.append(
            LifecyclePeriod(
                bucket.label,
                as_of,
                **{state.value: counts.get(state.value, 0) for state in Lifecycle},
            )
        )
    return out


def _moves(
    session: Session, program: ProgramConfig, cut: list[Bucket], common: dict[str, Any]
) -> list[TierMoves]:
    """Up or down by the tiers' places on today's ladder; a tier it no longer has, by reason."""
    level = {tier.code: tier.level for tier in program.ladder.tiers}
    ups: dict[int, int] = defaultdict(int)
    downs: dict[int, int] = defaultdict(int)
    for n, before, after, reason, count in queries.tier_moves(session, **common):
        if before in level and after in level:
            up = level[after] > level[before]
        else:
            up = reason in ("upgrade", "grant")
        (ups if up else downs)[n] += count
    return [TierMoves(b.label, ups[n], downs[n]) for n, b in enumerate(cut)]


def _cohorts(
    session: Session, program: ProgramConfig, filters: Filters, stores: frozenset[str] | None
) -> list[Cohort]:
    """The cohorts of the last :data:`MOST_COHORT_MONTHS` months of joining in the period."""
    firsts = months(filters.date_from, filters.date_to)[-MOST_COHORT_MONTHS:]
    cut = [
        Bucket(f"{m.year:04d}-{m.month:02d}", max(m, filters.date_from), following)
        for m, following in zip(firsts, [*firsts[1:], filters.end], strict=True)
    ]
    sizes, cells = queries.cohorts(
        session,
        program_id=program.id,
        bounds=_bounds(program, cut),
        stores=stores,
        tier=filters.tier,
    )
    found = []
    for j, month in enumerate(cut):
        size = sizes.get(j, 0)
        bought = [cells.get((j, j + k), 0) for k in range(len(cut) - j)]
        found.append(Cohort(month.label, size, bought, [ratio(b, size) for b in bought]))
    return found
