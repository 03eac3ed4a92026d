"""The members report on a hand-built history: counts, cohorts cell by cell, rates, tier moves."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from memberkit.analytics import service as analytics_service
from memberkit.db import Database
from memberkit.kit.time import Timing
from memberkit.order import service as order_service
from memberkit.program import service as program_service
from memberkit.program.service import ProgramConfig
from memberkit.report import service
from memberkit.report.rules import Filters, Grain
from tests.factories import make_member, make_store, post_order
from tests.report.history import at, build

AUTUMN = Filters(date(2026, 9, 1), date(2026, 11, 30), Grain.month)


def test_the_cohorts_are_the_share_of_each_joining_month_that_bought_month_by_month(
    database: Database, program: ProgramConfig
) -> None:
    # given A joined in September and bought in September and October; B and C joined in
    # October and bought in November (B's other order was fully refunded: no purchase)
    build(database, program)

    with database.session_scope(read_only=True) as session:
        report = service.members(session, program=program, filters=AUTUMN, viewer=None)

    cohorts = [(c.month, c.members, c.buyers, c.retention) for c in report.cohorts]
    one, none = Decimal("1.0000"), Decimal("0.0000")
    assert cohorts == [
        ("2026-09", 1, [1, 1, 0], [one, one, none]),
        ("2026-10", 2, [0, 2], [none, one]),
        ("2026-11", 0, [0], [None]),
    ]


def test_members_by_group_and_the_rates(database: Database, program: ProgramConfig) -> None:
    build(database, program)
    autumn_end = Filters(date(2026, 10, 1), date(2026, 11, 30), Grain.month)
    with database.session_scope(read_only=True) as session:
        whole = service.members(session, program=program, filters=AUTUMN, viewer=None)
        late = service.members(session, program=program, filters=autumn_end, viewer=None)
        own = service.members(session, program=program, filters=AUTUMN, viewer={"SH002"})

    assert (whole.total, whole.new, whole.referred) == (3, 3, 1)
    assert [(g.key, g.new) for g in whole.new_by_period] == [
        ("2026-09", 1),
        ("2026-10", 2),
        ("2026-11", 0),
    ]
    assert [(g.key, g.members) for g in whole.by_channel] == [("online", 1), ("store", 2)]
    assert [(g.key, g.members) for g in whole.by_store] == [("SH001", 1), ("SH002", 1), (None, 1)]
    assert [(g.key, g.members) for g in whole.by_tier] == [("regular", 2), ("gold", 1)]
    # A bought three times, B and C once: one of three bought again
    assert (whole.buyers, whole.repeat_buyers, whole.repurchase_rate) == (
        3,
        1,
        Decimal("0.3333"),
    )
    assert whole.referral_rate == Decimal("0.3333")
    # from October: A (joined before) counts in the total, not among the new
    assert (late.total, late.new, late.referral_rate) == (3, 2, Decimal("0.5000"))
    # A's ¥999.00 of 09-30 moved them up from regular to gold
    assert [(m.key, m.upgrades, m.downgrades) for m in whole.tier_moves] == [
        ("2026-09", 1, 0),
        ("2026-10", 0, 0),
        ("2026-11", 0, 0),
    ]
    # before any RFM refresh, no member has a lifecycle state yet
    assert set(whole.lifecycle.values()) == {0}
    assert whole.lifecycle_as_of is None
    # a manager of SH002 sees B alone
    assert (own.total, own.new, own.by_store[0].key) == (1, 1, "SH002")
    assert [(c.month, c.members, c.buyers) for c in own.cohorts][1] == ("2026-10", 1, [0, 1])


def test_the_lifecycle_counts_are_the_last_rfm_refreshs_for_the_stores_asked(
    database: Database, program: ProgramConfig
) -> None:
    # Given the history, refreshed as of 2026-11-30 (new within 30 days, dormant from 90)
    build(database, program)
    with database.session_scope() as session:
        analytics_service.refresh(session, program=program, as_of=date(2026, 11, 30))
    # When the report is read for the chain and by a manager of SH002
    with database.session_scope(read_only=True) as session:
        whole = service.members(session, program=program, filters=AUTUMN, viewer=None)
        own = service.members(session, program=program, filters=AUTUMN, viewer={"SH002"})
    # Then A (first bought 09-30, last 10-20) is active; B (11-03) and C (11-10) are new
    assert whole.lifecycle == {"new": 2, "active": 1, "won_back": 0, "dormant": 0, "churned": 0}
    assert whole.lifecycle_as_of == date(2026, 11, 30)
    # And the manager sees B alone, of their home store
    assert own.lifecycle == {"new": 1, "active": 0, "won_back": 0, "dormant": 0, "churned": 0}


def _lifecycle_history(database: Database, program: ProgramConfig) -> None:
    """Nine members, each in a known state on 2026-10-31 and on 2026-11-30 (new within 30
    days, dormant from 90, churned from 180: the defaults). Store SH002 holds N and W."""
    days = {
        # name: (home store, registered, purchase days, a fully refunded purchase day)
        "N": ("SH002", "2026-11-20", ["2026-11-25"], None),  # new (not yet registered 10-31)
        "n": (None, "2026-11-15", [], None),  # never bought, new (not yet 10-31)
        "A": (
            "SH001",
            "2026-01-01",
            ["2026-06-01", "2026-07-01", "2026-09-15", "2026-11-10"],
            None,
        ),
        "W": ("SH002", "2026-01-01", ["2026-03-01", "2026-11-01"], None),  # churned, then won back
        "D": ("SH001", "2026-01-01", ["2026-07-01"], None),  # dormant
        "d": (None, "2026-08-01", [], None),  # never bought: dormant from 90 days
        "C": ("SH001", "2026-01-01", ["2026-03-01"], None),  # churned
        "c": (None, "2026-01-01", [], None),  # never bought: churned
        "R": ("SH001", "2026-01-01", [], "2026-11-20"),  # bought only what was refunded
    }
    with database.session_scope() as session:
        make_store(session, program, code="SH001")
        make_store(session, program, code="SH002")
        for name, (store, joined, bought, refunded) in days.items():
            member = make_member(session, program, store_code=store, registered_at=at(joined))
            for n, day in enumerate([*bought, *([refunded] if refunded else [])]):
                post_order(
                    session,
                    program,
                    member,
                    amount_minor=5_000,
                    external_id=f"O-{name}{n}",
                    occurred_at=at(day),
                    timing=Timing.replay(at(day)),
                )
                if day == refunded:
                    order_service.post_refund(
                        session,
                        program=program,
                        refund=order_service.RefundIn(
                            external_id=f"RF-{name}",
                            order_external_id=f"O-{name}{n}",
                            occurred_at=at(day, "12:00"),
                        ),
                        timing=Timing.replay(at(day, "12:00")),
                    )


def test_the_lifecycle_by_period_is_each_members_state_at_each_periods_end(
    database: Database, program: ProgramConfig
) -> None:
    # given nine members in every lifecycle state, their history from January to November
    _lifecycle_history(database, program)
    autumn = Filters(date(2026, 10, 1), date(2026, 11, 30), Grain.month)

    # when the members report is read by month, for the chain and for a manager of SH002
    with database.session_scope(read_only=True) as session:
        whole = service.members(session, program=program, filters=autumn, viewer=None)
        own = service.members(session, program=program, filters=autumn, viewer={"SH002"})

    # then each month's end counts the members registered by then, in their state that day
    def states(p: service.LifecyclePeriod) -> tuple[int, ...]:
        return (p.new, p.active, p.won_back, p.dormant, p.churned)

    october, november = whole.lifecycle_by_period
    assert (october.key, october.as_of, november.as_of) == (
        "2026-10",
        date(2026, 10, 31),
        date(2026, 11, 30),
    )
    # 10-31: A active (last 09-15, 76 days after 07-01); D and d dormant; W, C, c, R churned
    assert states(october) == (0, 1, 0, 2, 4)
    # 11-30: N and n new; A active; W won back (11-01 after 245 days); D, d dormant; C, c, R
    # churned (R's only purchase was refunded in full: no purchase)
    assert states(november) == (2, 1, 1, 2, 3)
    assert [states(p) for p in own.lifecycle_by_period] == [(0, 0, 0, 0, 1), (1, 0, 1, 0, 0)]

    # and on a day every member was registered by, the database's count is the Python rule's
    # (the RFM refresh's lifecycle, analytics.rules.lifecycle)
    with database.session_scope() as session:
        analytics_service.refresh(session, program=program, as_of=date(2026, 11, 30))
    with database.session_scope(read_only=True) as session:
        refreshed = service.members(session, program=program, filters=autumn, viewer=None)
    assert refreshed.lifecycle == {
        "new": 2,
        "active": 1,
        "won_back": 1,
        "dormant": 2,
        "churned": 3,
    }


def test_the_lifecycle_by_period_counts_local_days_across_daylight_saving(
    database: Database, program: ProgramConfig
) -> None:
    from zoneinfo import ZoneInfo

    from memberkit.program.settings import CALENDAR

    # given a program in New York and a member whose purchase before the recent span was
    # made just after midnight in summer time, 90 local days before their return: active
    # (a gap of exactly dormant_days), not won back
    york = ZoneInfo("America/New_York")
    with database.session_scope() as session:
        program = program_service.change(
            session, program=program, section=CALENDAR, value={"timezone": "America/New_York"}
        )
        member = make_member(session, program, registered_at=datetime(2026, 1, 2, 12, tzinfo=york))
        for n, moment in enumerate(
            (datetime(2026, 6, 12, 0, 37, tzinfo=york), datetime(2026, 9, 10, 12, tzinfo=york))
        ):
            post_order(
                session,
                program,
                member,
                external_id=f"O-{n}",
                occurred_at=moment,
                timing=Timing.replay(moment),
            )
    december = Filters(date(2026, 11, 1), date(2026, 11, 30), Grain.month)
    # when the report counts the state at the end of November (winter time)
    with database.session_scope(read_only=True) as session:
        report = service.members(session, program=program, filters=december, viewer=None)
    # then the member is active, as the RFM refresh of that day says
    (period,) = report.lifecycle_by_period
    assert (period.active, period.won_back) == (1, 0)
    with database.session_scope() as session:
        analytics_service.refresh(session, program=program, as_of=date(2026, 11, 30))
    with database.session_scope(read_only=True) as session:
        refreshed = service.members(session, program=program, filters=december, viewer=None)
    assert (refreshed.lifecycle["active"], refreshed.lifecycle["won_back"]) == (1, 0)
