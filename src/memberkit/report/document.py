"""A report as the page, the Excel file and the PDF show it: title, filters, tables, charts.

One shape for the three, so they cannot tell different figures: each section is a table of
typed cells (counts, money in minor units, ratios) with an optional chart over its rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from memberkit.analytics.rules import LIFECYCLE_NAMES, Lifecycle
from memberkit.kit.i18n import _, translate
from memberkit.kit.money import display_money
from memberkit.ledger.queries import LIABILITY_HORIZONS
from memberkit.program.service import ProgramConfig
from memberkit.report.service import Asked, MembersReport, PointsReport, SalesReport, SalesRow

#: The reports by name, as the API and the console's addresses name them.
NAMES = ("sales", "points", "members")
TITLES = {
    "sales": _("Sales report"),
    "points": _("Points and stored value report"),
    "members": _("Members report"),
}


@dataclass(frozen=True)
class Column:
    """A column: its heading and the kind of its cells (text, count, money, ratio)."""

    label: str
    kind: str = "count"


@dataclass(frozen=True)
class Chart:
    """A chart over a section: ``bar``/``line`` (series over ``categories``), ``pie``, ``heatmap``.

    Series values are plain numbers: money in minor units, ratios as Decimal. A heat map's
    ``series`` holds one row per ``rows`` label, a value per column (None: no cell).
    """

    kind: str
    categories: list[str]
    series: list[tuple[str, list[Any]]]
    money: bool = False
    rows: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Section:
    """A titled table, with its chart."""

    key: str
    title: str
    columns: list[Column]
    rows: list[list[Any]]
    chart: Chart | None = None


@dataclass(frozen=True)
class Document:
    """A report ready to show: its name, title, the filters as lines, sections and notes."""

    name: str
    title: str
    filters: list[tuple[str, str]]
    sections: list[Section]
    notes: list[str]


@dataclass(frozen=True)
class Figure:
    """A number in a text column, such as a summary's values, each of its own kind.

    Shown as :func:`cell` writes it; kept as a number of that kind in the workbook.
    """

    value: Any
    kind: str

    def __str__(self) -> str:
        return cell(self.value, self.kind)


def cell(value: Any, kind: str) -> str:
    """A cell as text: ¥1,234.56, 1,234, 12.34%, 8.82 (— when there is nothing to divide)."""
    if value is None:
        return "—"
    if isinstance(value, Figure):
        return str(value)
    if kind == "money":
        return display_money(int(value))
    if kind == "count":
        return f"{int(value):,}"
    if kind == "ratio":
        return f"{(Decimal(value) * 100).quantize(Decimal('0.01'))}%"
    if kind == "decimal":
        return str(Decimal(value).quantize(Decimal("0.01")))
    return str(value)


def _filters(asked: Asked, program: ProgramConfig, locale: str) -> list[tuple[str, str]]:
    every = translate(_("all"), locale)
    tiers = {tier.code: tier.name for tier in program.ladder.tiers}
    return [
        (translate(_("Period"), locale), f"{asked.date_from} — {asked.date_to}"),
        (translate(_("Grain"), locale), translate(GRAINS[asked.grain], locale)),
        (
            translate(_("Stores"), locale),
            ", ".join(asked.stores) if asked.stores is not None else every,
        ),
        (
            translate(_("Tier"), locale),
            tiers.get(asked.tier, asked.tier) if asked.tier else every,
        ),
    ]


GRAINS = {"day": _("by day"), "week": _("by week"), "month": _("by month")}


def _sales_columns(first: str, locale: str) -> list[Column]:
    t = lambda text: translate(text, locale)  # noqa: E731
    return [
        Column(first, "text"),
        Column(t(_("Sales")), "money"),
        Column(t(_("Orders")), "count"),
        Column(t(_("Average order value")), "money"),
        Column(t(_("Buying members")), "count"),
        Column(t(_("Orders per buying member")), "decimal"),
        Column(t(_("Member sales")), "money"),
        Column(t(_("Non-member sales")), "money"),
        Column(t(_("Member share")), "ratio"),
    ]


def _sales_cells(label: str, row: SalesRow) -> list[Any]:
    return [
        label,
        row.sales_minor,
        row.orders,
        row.average_order_minor,
        row.buyers,
        row.frequency,
        row.member_sales_minor,
        row.non_member_sales_minor,
        row.member_share,
    ]


def sales(report: SalesReport, program: ProgramConfig, locale: str) -> Document:
    """The sales report as a document."""
    t = lambda text: translate(text, locale)  # noqa: E731
    tiers = {tier.code: tier.name for tier in program.ladder.tiers}
    online, non_member = t(_("online (no store)")), t(_("non-members"))
    periods = [row.key or "" for row in report.by_period]
    return Document(
        name="sales",
        title=t(TITLES["sales"]),
        filters=_filters(report.filters, program, locale),
        sections=[
            Section(
                "total",
                t(_("In total")),
                _sales_columns(t(_("Period")), locale),
                [_sales_cells(t(_("Total")), report.total)],
                Chart(
                    "pie",
                    [t(_("Member sales")), t(_("Non-member sales"))],
                    [
                        (
                            t(_("Sales")),
                            [report.total.member_sales_minor, report.total.non_member_sales_minor],
                        )
                    ],
                    money=True,
                ),
            ),
            Section(
                "by_period",
                t(_("By period")),
                _sales_columns(t(_("Period")), locale),
                [_sales_cells(row.key or "", row) for row in report.by_period],
                Chart(
                    "bar",
                    periods,
                    [
                        (t(_("Member sales")), [r.member_sales_minor for r in report.by_period]),
                        (
                            t(_("Non-member sales")),
                            [r.non_member_sales_minor for r in report.by_period],
                        ),
                    ],
                    money=True,
                ),
            ),
            Section(
                "by_store",
                t(_("By store")),
                _sales_columns(t(_("Store")), locale),
                [_sales_cells(row.key or online, row) for row in report.by_store],
                Chart(
                    "bar",
                    [row.key or online for row in report.by_store],
                    [(t(_("Sales")), [row.sales_minor for row in report.by_store])],
                    money=True,
                ),
            ),
            Section(
                "by_tier",
                t(_("By tier")),
                _sales_columns(t(_("Tier")), locale),
                [
                    _sales_cells(
                        non_member if row.key is None else tiers.get(row.key, row.key), row
                    )
                    for row in report.by_tier
                ],
                Chart(
                    "pie",
                    [
                        non_member if row.key is None else tiers.get(row.key, row.key)
                        for row in report.by_tier
                    ],
                    [(t(_("Sales")), [row.sales_minor for row in report.by_tier])],
                    money=True,
                ),
            ),
        ],
        notes=[
            t(
                _(
                    "Sales are of the orders made in the period, net of what has been refunded of"
                    " them; a fully refunded order is not counted as an order. Tiers are the"
                    " members' current ones."
                )
            )
        ],
    )


def points(report: PointsReport, program: ProgramConfig, locale: str) -> Document:
    """The points and stored value report as a document."""
    t = lambda text: translate(text, locale)  # noqa: E731
    owed = report.outstanding
    flows = report.points
    wallet = report.wallet
    point_columns = [
        Column(t(_("Period")), "text"),
        Column(t(_("Points issued")), "count"),
        Column(t(_("Points redeemed")), "count"),
        Column(t(_("Points expired")), "count"),
        Column(t(_("Points adjusted")), "count"),
    ]
    wallet_columns = [
        Column(t(_("Period")), "text"),
        Column(t(_("Principal recharged")), "money"),
        Column(t(_("Bonus given")), "money"),
        Column(t(_("Principal spent")), "money"),
        Column(t(_("Bonus spent")), "money"),
        Column(t(_("Principal refunded")), "money"),
        Column(t(_("Bonus forfeited")), "money"),
    ]

    def wallet_cells(label: str, row: Any) -> list[Any]:
        return [
            label,
            row.recharged_principal,
            row.bonus_given,
            row.spent_principal,
            row.spent_bonus,
            row.refunded_principal,
            row.bonus_forfeited,
        ]

    periods = [row.key or "" for row in report.points_by_period]
    summary = [
        [t(_("Points issued")), Figure(flows.issued, "count")],
        [t(_("Points redeemed")), Figure(flows.redeemed, "count")],
        [t(_("Points expired")), Figure(flows.expired, "count")],
        [t(_("Breakage rate (expired / issued)")), Figure(report.breakage_rate, "ratio")],
        [t(_("Points outstanding")), Figure(owed.points, "count")],
        [t(_("Their value (liability)")), Figure(owed.points_value_minor, "money")],
        [t(_("Points owed by members")), Figure(owed.points_debt, "count")],
        *(
            [
                t(_("Expiring within {days} days")).format(days=days),
                Figure(owed.expiring[days], "count"),
            ]
            for days in LIABILITY_HORIZONS
        ),
        [t(_("Stored value outstanding: principal")), Figure(owed.wallet_principal, "money")],
        [t(_("Stored value outstanding: bonus")), Figure(owed.wallet_bonus, "money")],
    ]
    return Document(
        name="points",
        title=t(TITLES["points"]),
        filters=_filters(report.filters, program, locale),
        sections=[
            Section(
                "summary",
                t(_("In total")),
                [Column(t(_("Figure")), "text"), Column(t(_("Value")), "text")],
                summary,
                Chart(
                    "bar",
                    [t(_("Within {days} days")).format(days=d) for d in LIABILITY_HORIZONS],
                    [(t(_("Points expiring")), [owed.expiring[d] for d in LIABILITY_HORIZONS])],
                ),
            ),
            Section(
                "points_by_period",
                t(_("Points by period")),
                point_columns,
                [
                    [row.key, row.issued, row.redeemed, row.expired, row.adjusted]
                    for row in report.points_by_period
                ],
                Chart(
                    "bar",
                    periods,
                    [
                        (t(_("Points issued")), [r.issued for r in report.points_by_period]),
                        (t(_("Points redeemed")), [r.redeemed for r in report.points_by_period]),
                        (t(_("Points expired")), [r.expired for r in report.points_by_period]),
                    ],
                ),
            ),
            Section(
                "wallet_by_period",
                t(_("Stored value by period")),
                wallet_columns,
                [wallet_cells(row.key or "", row) for row in report.wallet_by_period]
                + [wallet_cells(t(_("Total")), wallet)],
                Chart(
                    "bar",
                    periods,
                    [
                        (
                            t(_("Principal recharged")),
                            [r.recharged_principal for r in report.wallet_by_period],
                        ),
                        (
                            t(_("Principal spent")),
                            [r.spent_principal for r in report.wallet_by_period],
                        ),
                    ],
                    money=True,
                ),
            ),
        ],
        notes=[
            t(
                _(
                    "Flows are sums of the ledger's entries dated in the period; what is"
                    " outstanding is the liability report's figure at the end of {day}."
                    " Breakage rate: points expired in the period divided by points issued in it."
                )
            ).format(day=report.filters.date_to.isoformat())
        ],
    )


def members(report: MembersReport, program: ProgramConfig, locale: str) -> Document:
    """The members report as a document."""
    t = lambda text: translate(text, locale)  # noqa: E731
    tiers = {tier.code: tier.name for tier in program.ladder.tiers}
    none = t(_("none"))
    group_columns = [
        Column("", "text"),
        Column(t(_("Members")), "count"),
        Column(t(_("New")), "count"),
    ]

    def groups(
        key: str, title: str, heading: str, rows: list[Any], names: dict[str, str]
    ) -> Section:
        labels = [names.get(g.key, g.key) if g.key else none for g in rows]
        return Section(
            key,
            title,
            [Column(heading, "text"), *group_columns[1:]],
            [[label, g.members, g.new] for label, g in zip(labels, rows, strict=True)],
            Chart("pie", labels, [(t(_("Members")), [g.members for g in rows])]),
        )

    lifecycle = [(Lifecycle(k), n) for k, n in (report.lifecycle or {}).items()]
    width = max((len(c.retention) for c in report.cohorts), default=0)
    month_heads = [t(_("Month {n}")).format(n=n) for n in range(width)]
    return Document(
        name="members",
        title=t(TITLES["members"]),
        filters=_filters(report.filters, program, locale),
        sections=[
            Section(
                "summary",
                t(_("In total")),
                [Column(t(_("Figure")), "text"), Column(t(_("Value")), "text")],
                [
                    [t(_("Members")), Figure(report.total, "count")],
                    [t(_("New members")), Figure(report.new, "count")],
                    [
                        t(_("Repurchase rate (≥2 purchases / ≥1)")),
                        Figure(report.repurchase_rate, "ratio"),
                    ],
                    [t(_("Referral rate (referred / new)")), Figure(report.referral_rate, "ratio")],
                ],
            ),
            Section(
                "new_by_period",
                t(_("New members by period")),
                [Column(t(_("Period")), "text"), Column(t(_("New")), "count")],
                [[g.key, g.new] for g in report.new_by_period],
                Chart(
                    "line",
                    [g.key or "" for g in report.new_by_period],
                    [(t(_("New members")), [g.new for g in report.new_by_period])],
                ),
            ),
            groups("by_tier", t(_("By tier")), t(_("Tier")), report.by_tier, tiers),
            groups("by_store", t(_("By home store")), t(_("Store")), report.by_store, {}),
            groups("by_channel", t(_("By channel")), t(_("Channel")), report.by_channel, {}),
            Section(
                "lifecycle_by_period",
                t(_("Lifecycle by period (at each period's end)")),
                [
                    Column(t(_("Period")), "text"),
                    *(Column(t(LIFECYCLE_NAMES[state]), "count") for state in Lifecycle),
                ],
                [
                    [p.key, *(getattr(p, state.value) for state in Lifecycle)]
                    for p in report.lifecycle_by_period
                ],
                Chart(
                    "line",
                    [p.key for p in report.lifecycle_by_period],
                    [
                        (
                            t(LIFECYCLE_NAMES[state]),
                            [getattr(p, state.value) for p in report.lifecycle_by_period],
                        )
                        for state in Lifecycle
                    ],
                ),
            ),
            Section(
                "lifecycle",
                t(_("Lifecycle at the last RFM refresh")),
                [Column(t(_("State")), "text"), Column(t(_("Members")), "count")],
                [[t(LIFECYCLE_NAMES[state]), n] for state, n in lifecycle],
                Chart(
                    "bar",
                    [t(LIFECYCLE_NAMES[state]) for state, _n in lifecycle],
                    [(t(_("Members")), [n for _state, n in lifecycle])],
                ),
            ),
            Section(
                "cohorts",
                t(_("Cohort retention by month of joining")),
                [
                    Column(t(_("Joined")), "text"),
                    Column(t(_("Members")), "count"),
                    *(Column(head, "ratio") for head in month_heads),
                ],
                [
                    [c.month, c.members, *c.retention, *([None] * (width - len(c.retention)))]
                    for c in report.cohorts
                ],
                Chart(
                    "heatmap",
                    month_heads,
                    [(c.month, c.retention) for c in report.cohorts],
                    rows=[c.month for c in report.cohorts],
                ),
            ),
            Section(
                "tier_moves",
                t(_("Tier movement")),
                [
                    Column(t(_("Period")), "text"),
                    Column(t(_("Upgrades")), "count"),
                    Column(t(_("Downgrades")), "count"),
                ],
                [[m.key, m.upgrades, m.downgrades] for m in report.tier_moves],
                Chart(
                    "bar",
                    [m.key for m in report.tier_moves],
                    [
                        (t(_("Upgrades")), [m.upgrades for m in report.tier_moves]),
                        (t(_("Downgrades")), [m.downgrades for m in report.tier_moves]),
                    ],
                ),
            ),
        ],
        notes=[
            t(
                _(
                    "Cohort retention: of the members who joined in a month, the share who bought"
                    " (an order not fully refunded) in that month (month 0) and each month after."
                )
            ),
            t(
                _(
                    "Lifecycle: members of the store and tier asked for, by their state as of the"
                    " last RFM refresh ({as_of}), not by the period."
                )
            ).format(as_of=report.lifecycle_as_of or t(_("never refreshed"))),
        ],
    )
