"""RFM and lifecycle refreshed from the database: hand-built members, exact rows and counts."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from memberkit.analytics import queries, service
from memberkit.analytics.models import MemberRfm, RfmRefresh
from memberkit.analytics.settings import ANALYTICS
from memberkit.db import Database
from memberkit.kit.time import start_of_local_day
from memberkit.member.models import Member
from memberkit.order.models import Order
from memberkit.program import service as program_service
from memberkit.program.service import ProgramConfig
from tests.factories import make_member, make_store

AS_OF = date(2026, 6, 30)  # in the program's timezone, Asia/Shanghai
_ids = itertools.count(1)


def ago(days: int) -> date:
    return AS_OF - timedelta(days=days)


def at(days: int) -> datetime:
    """Half past midnight, Shanghai, ``days`` before AS_OF: 16:30 UTC the day before."""
    return start_of_local_day(ago(days)) + timedelta(minutes=30)


def order(session: Session, member: Member, days: int, total: int, refunded: int = 0) -> None:
    """An order as history import stores one (any date), straight into ``orders``."""
    session.execute(
        insert(Order).values(
            program_id=member.program_id,
            external_id=f"H-{next(_ids)}",
            member_id=member.id,
            channel="store",
            occurred_at=at(days),
            total_minor=total,
            eligible_minor=total,
            refunded_minor=refunded,
        )
    )


def member(session: Session, program: ProgramConfig, registered: int, **kw: Any) -> Member:
    return make_member(session, program, registered_at=at(registered), **kw)


@pytest.fixture
def eight(database: Database, program: ProgramConfig) -> dict[str, Member]:
    """Five members who bought in the window (scores 1–5 each) and three who did not."""
    with database.session_scope() as s:
        if not queries.store_ids(s, program_id=program.id, codes=["SH001"]):
            make_store(s, program, code="SH001")
        m = {
            "m1": member(s, program, 545, store_code="SH001"),
            "m2": member(s, program, 545),
            "m3": member(s, program, 545, store_code="SH001"),
            "m4": member(s, program, 545),
            "m5": member(s, program, 545),
            "m6": member(s, program, 10),
            "m7": member(s, program, 545),
            "m8": member(s, program, 100),
        }
        for days in (0, 30, 60, 120, 200):
            order(s, m["m1"], days, 10000)
        order(s, m["m2"], 5, 45000, refunded=5000)  # counts net: 40000
        for days in (100, 110, 120, 130):
            order(s, m["m3"], days, 7500)
        order(s, m["m3"], 2, 9999, refunded=9999)  # fully refunded: no purchase
        order(s, m["m4"], 60, 5000)
        order(s, m["m4"], 300, 5000)
        order(s, m["m4"], 400, 99999)  # before the window: first purchase, not F or M
        order(s, m["m5"], 20, 6000)
        order(s, m["m5"], 40, 7000)
        order(s, m["m5"], 50, 7000)
        order(s, m["m7"], 400, 7000)
        return {name: s.merge(x) for name, x in m.items()}


COLUMNS = (
    "recency_days",
    "frequency",
    "monetary_minor",
    "r_score",
    "f_score",
    "m_score",
    "rfm_class",
    "active_class",
    "lifecycle",
    "first_purchase_on",
    "last_purchase_on",
    "recent_first_on",
    "previous_on",
)

EXPECTED = {
    "m1": (0, 5, 50000, 5, 5, 5, "important_value", "loyal", "active",
           ago(200), ago(0), ago(60), ago(120)),
    "m2": (5, 1, 40000, 4, 1, 4, "important_develop", "opportunity", "new",
           ago(5), ago(5), ago(5), None),
    "m3": (100, 4, 30000, 1, 4, 3, "general_keep", None, "dormant",
           ago(130), ago(100), None, ago(100)),
    "m4": (60, 2, 10000, 2, 2, 1, "general_win_back", "random", "won_back",
           ago(400), ago(60), ago(60), ago(300)),
    "m5": (20, 3, 20000, 3, 3, 2, "general_win_back", "random", "active",
           ago(50), ago(20), ago(50), None),
    "m6": (None, 0, 0, 1, 1, 1, None, None, "new", None, None, None, None),
    "m7": (400, 0, 0, 1, 1, 1, None, None, "churned", ago(400), ago(400), None, ago(400)),
    "m8": (None, 0, 0, 1, 1, 1, None, None, "dormant", None, None, None, None),
}  # fmt: skip


def rows(database: Database, members: dict[str, Member]) -> dict[str, tuple[Any, ...]]:
    names = {m.id: name for name, m in members.items()}
    with database.session_scope() as s:
        found = s.scalars(select(MemberRfm)).all()
        assert {r.as_of for r in found} == {AS_OF}
        return {names[r.member_id]: tuple(getattr(r, c) for c in COLUMNS) for r in found}


def test_a_full_refresh_gives_every_member_one_row_with_exact_scores_classes_and_states(
    database: Database, program: ProgramConfig, eight: dict[str, Member]
) -> None:
    # when the program's RFM is refreshed as of 30 June
    with database.session_scope() as s:
        done = service.refresh(s, program=program, as_of=AS_OF)

    # then every member has their row: five scored, three not
    assert (done.members, done.scored) == (8, 5)
    assert rows(database, eight) == EXPECTED
    # and the refresh records its settings, cut-offs and sums
    with database.session_scope() as s:
        refresh = s.scalars(select(RfmRefresh)).one()
        assert (refresh.as_of, refresh.members, refresh.scored) == (AS_OF, 8, 5)
        assert refresh.settings["window_days"] == 365
        assert refresh.cutoffs == {
            "recency": [99, 59, 19, 4],
            "frequency": [2, 3, 4, 5],
            "monetary": [10001, 20001, 30001, 40001],
        }
        assert (refresh.sum_days, refresh.sum_count, refresh.sum_monetary) == (185, 15, 150000)


def test_refreshing_again_replaces_the_rows(
    database: Database, program: ProgramConfig, eight: dict[str, Member]
) -> None:
    with database.session_scope() as s:
        service.refresh(s, program=program, as_of=AS_OF)
    # when it is refreshed a day later
    with database.session_scope() as s:
        service.refresh(s, program=program, as_of=AS_OF + timedelta(days=1))
        # then there is still one row per member, as of the new day
        found = s.scalars(select(MemberRfm)).all()
        assert len(found) == 8
        assert {r.as_of for r in found} == {AS_OF + timedelta(days=1)}
        assert s.get(MemberRfm, eight["m1"].id).recency_days == 1  # type: ignore[union-attr]


def test_the_mean_threshold_and_a_shorter_window_change_the_classes(
    database: Database, eight: dict[str, Member]
) -> None:
    # given high means better than the mean, over 90 days
    with database.session_scope() as s:
        program = program_service.change(
            s,
            program=program_service.get(s),
            section=ANALYTICS,
            value={"cut": "mean", "window_days": 90},
        )
    with database.session_scope() as s:
        service.refresh(s, program=program, as_of=AS_OF)
    got = rows(database, eight)
    # then m3 (last bought 100 days ago) is out of the window and m4 has one purchase in it;
    # means of (days, count, spend) over m1, m2, m4, m5: (21.25, 2, 23750)
    assert got["m3"][1:3] == (0, 0) and got["m3"][6] is None
    assert got["m1"][6] == "important_value"  # 0 < 21.25, 3 > 2, 30000 > 23750
    assert got["m2"][6] == "important_develop"  # 5 < 21.25, 1 < 2, 40000 > 23750
    assert got["m4"][6] == "general_win_back"  # 60 days, 1 purchase, 5000
    assert got["m5"][6] == "general_value"  # 20 < 21.25, 3 > 2, 20000 < 23750


def test_an_incremental_refresh_scores_against_the_last_full_refresh(
    database: Database, program: ProgramConfig, eight: dict[str, Member]
) -> None:
    with database.session_scope() as s:
        service.refresh(s, program=program, as_of=AS_OF)
    before = rows(database, eight)
    # given m6, who never bought, buys 450.00 today
    with database.session_scope() as s:
        order(s, eight["m6"], 0, 45000)
    # when only m6 is refreshed
    with database.session_scope() as s:
        written = service.refresh_members(
            s, program=program, member_ids=[eight["m6"].id], as_of=AS_OF
        )
    # then m6 scores by the last full refresh's cut-offs: R 5 (0 ≤ 4 days), F 1, M 5 (≥ 40001)
    after = rows(database, eight)
    assert written == 1
    assert after["m6"] == (0, 1, 45000, 5, 1, 5, "important_develop", "opportunity", "new",
                           AS_OF, AS_OF, AS_OF, None)  # fmt: skip
    # and nobody else changed
    assert {k: v for k, v in after.items() if k != "m6"} == {
        k: v for k, v in before.items() if k != "m6"
    }


def test_an_incremental_refresh_before_any_full_refresh_does_nothing(
    database: Database, program: ProgramConfig, eight: dict[str, Member]
) -> None:
    with database.session_scope() as s:
        written = service.refresh_members(
            s, program=program, member_ids=[eight["m1"].id], as_of=AS_OF
        )
        assert written == 0
        assert s.scalars(select(MemberRfm)).all() == []


def test_lifecycle_counts_by_store_and_tier(
    database: Database, program: ProgramConfig, eight: dict[str, Member]
) -> None:
    with database.session_scope() as s:
        service.refresh(s, program=program, as_of=AS_OF)
    with database.session_scope() as s:
        everyone = {"new": 2, "active": 2, "won_back": 1, "dormant": 2, "churned": 1}
        assert queries.lifecycle_counts(s, program_id=program.id) == everyone
        store = queries.store_ids(s, program_id=program.id, codes=["SH001"])
        assert queries.lifecycle_counts(s, program_id=program.id, store_ids=store) == {
            "new": 0, "active": 1, "won_back": 0, "dormant": 1, "churned": 0,
        }  # fmt: skip
        tier = eight["m1"].tier_code
        s.execute(update(Member).where(Member.id == eight["m4"].id).values(tier_code="gold"))
        assert queries.lifecycle_counts(s, program_id=program.id, tier_codes=["gold"]) == {
            "new": 0, "active": 0, "won_back": 1, "dormant": 0, "churned": 0,
        }  # fmt: skip
        others = queries.lifecycle_counts(s, program_id=program.id, tier_codes=[tier])
        assert others == {**everyone, "won_back": 0}
        assert queries.lifecycle_counts(s, program_id=program.id, store_ids=[]) == dict.fromkeys(
            everyone, 0
        )


def test_the_counts_give_classes_active_classes_states_and_the_grid(
    database: Database, program: ProgramConfig, eight: dict[str, Member]
) -> None:
    with database.session_scope() as s:
        service.refresh(s, program=program, as_of=AS_OF)
    with database.session_scope() as s:
        view = service.overview(s, program=program)
        scoped = service.overview(s, program=program, stores=["SH001"])
    assert view.counts.members == 8
    assert view.counts.classes == {
        "important_value": 1,
        "important_develop": 1,
        "general_keep": 1,
        "general_win_back": 2,
        None: 3,
    }
    assert view.counts.active == {"loyal": 1, "opportunity": 1, "random": 2, None: 4}
    assert view.counts.grid == {(5, 5): 1, (4, 1): 1, (1, 4): 1, (2, 2): 1, (3, 3): 1}
    assert view.cutoffs is not None and view.cutoffs.recency == (99, 59, 19, 4)
    assert scoped.counts.classes == {"important_value": 1, "general_keep": 1}
    assert scoped.counts.grid == {(5, 5): 1, (1, 4): 1}


def test_today_is_the_programs_day(database: Database) -> None:
    with database.session_scope() as s:
        config = program_service.get(s)
    assert service.program_today(config) == datetime.now(config.tz).date()


def _expected(s: Session, program: ProgramConfig) -> tuple[dict[int, tuple[Any, ...]], Any]:
    """Every member's row and the cut-offs as the pure rules compute them (rfm.score)."""
    from memberkit.analytics.rfm import score
    from memberkit.analytics.rules import cutoffs

    rules = program.section(ANALYTICS)
    members = service._members(s, program=program, rules=rules, as_of=AS_OF, member_ids=None)
    purchases = service._purchases(members, AS_OF)
    scored = {p.member_id: p for p in score(purchases, rules.threshold)}
    made = service._rows(members, scored, program_id=program.id, rules=rules, as_of=AS_OF)
    return {r["member_id"]: tuple(r[c] for c in COLUMNS) for r in made}, cutoffs(purchases)


@pytest.mark.parametrize(
    ("zone", "analytics"),
    [
        ("Asia/Shanghai", {}),
        ("Europe/Berlin", {"cut": "mean", "window_days": 200}),
        ("America/New_York", {"at": 3, "new_days": 60, "dormant_days": 60}),
    ],
)
def test_the_sql_refresh_gives_what_the_pure_rules_give_on_random_members(
    database: Database, zone: str, analytics: dict[str, Any]
) -> None:
    import random

    from memberkit.program.settings import CALENDAR

    rng = random.Random(zone)
    # given a program in a zone (two with daylight saving) and 80 members with many ties
    with database.session_scope() as s:
        program = program_service.change(
            s, program=program_service.get(s), section=CALENDAR, value={"timezone": zone}
        )
        program = program_service.change(s, program=program, section=ANALYTICS, value=analytics)
        for _n in range(80):
            m = member(s, program, rng.randint(0, 900))
            for _o in range(rng.choice([0, 1, 2, 3, 6])):
                total = rng.choice([0, 1000, 1000, 2500, 9000])
                refunded = rng.choice([0, 0, 0, 500, total])
                session_order = Order(
                    program_id=m.program_id,
                    external_id=f"H-{next(_ids)}",
                    member_id=m.id,
                    channel="store",
                    # any second of the last 800 days: near midnight and DST changes too
                    occurred_at=at(0) - timedelta(seconds=rng.randint(-3600, 800 * 86400)),
                    total_minor=total,
                    eligible_minor=total,
                    refunded_minor=refunded,
                )
                s.add(session_order)
        s.flush()
        expected, cut = _expected(s, program)
    # when the full refresh runs in SQL
    with database.session_scope() as s:
        service.refresh(s, program=program, as_of=AS_OF)
    # then every row and the recorded cut-offs are what the pure rules say
    with database.session_scope() as s:
        got = {
            r.member_id: tuple(getattr(r, c) for c in COLUMNS) for r in s.scalars(select(MemberRfm))
        }
        assert got == expected
        refresh = s.scalars(select(RfmRefresh)).one()
        assert cut is not None and refresh.scored == cut.scored
        assert service.stored_cutoffs(refresh) == cut


def test_the_zone_offsets_sqlite_reads_local_days_by_change_on_the_exact_second() -> None:
    from datetime import UTC
    from zoneinfo import ZoneInfo

    from memberkit.analytics.repository import _offsets

    start = datetime(2026, 1, 1, 0, 0, 0, 500, tzinfo=UTC)
    assert _offsets(ZoneInfo("Europe/Berlin"), start, datetime(2026, 12, 31, tzinfo=UTC)) == [
        (start, 3600),
        (datetime(2026, 3, 29, 1, 0, tzinfo=UTC), 7200),
        (datetime(2026, 10, 25, 1, 0, tzinfo=UTC), 3600),
    ]
    assert _offsets(ZoneInfo("Asia/Shanghai"), start, datetime(2026, 12, 31, tzinfo=UTC)) == [
        (start, 28800)
    ]
