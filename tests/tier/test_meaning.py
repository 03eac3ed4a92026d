"""Tier meaning on a real database: codes across ladder changes, refunds, honest dates.

Properties over random ladders replaced with moves, and random orders and refunds.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from memberkit.config import settings as app_settings
from memberkit.db import Database
from memberkit.growth import service as growth_service
from memberkit.kit.time import Timing, today, utcnow
from memberkit.member import service as member_service
from memberkit.member.models import Member
from memberkit.order import service as order_service
from memberkit.program import service as program_service
from memberkit.tier import service as tier_service
from memberkit.tier.models import TierChange
from memberkit.tier.rules import DEFAULT_LADDER, parse_ladder
from tests.conftest import _reset as reset
from tests.conftest import set_rules
from tests.tier.test_service import buy, register, tier_of

PROPERTY = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
TWELVE_MONTHS = {**DEFAULT_LADDER, "period": "twelve_months"}

#: Tests that date events an hour or minutes back from now run at midday: around midnight in
#: the program's timezone "an hour ago" would fall on the day before and move the dates.
MIDDAY_IN_SHANGHAI = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)


def dates_of(database: Database, member_no: str) -> tuple[datetime | None, datetime | None]:
    with database.session_scope() as session:
        member = session.scalars(select(Member).where(Member.member_no == member_no)).one()
        return member.tier_since, member.tier_review_at


def refund_all(database: Database, external_id: str, order: str) -> order_service.RefundResult:
    with database.session_scope() as session:
        return order_service.post_refund(
            session,
            program=program_service.get(session),
            refund=order_service.RefundIn(
                external_id=external_id, order_external_id=order, occurred_at=utcnow()
            ),
        )


def grant(database: Database, member_no: str, code: str, key: str, *, allow_down: bool) -> None:
    with database.session_scope() as session:
        program = program_service.get(session)
        member = member_service.find(session, program_id=program.id, member_no=member_no, lock=True)
        tier_service.grant(
            session,
            program=program,
            member=member,
            tier_code=code,
            last_day=today() + timedelta(days=30),
            note="test",
            actor="test",
            key=key,
            now=utcnow(),
            allow_down=allow_down,
        )


# --- tier dates of back-dated events ----------------------------------------------------------


def test_upgrade_dates_never_move_back() -> None:
    ladder = parse_ladder(TWELVE_MONTHS)
    now = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)
    yesterday = now - timedelta(days=1)
    a_year = ladder.period_end(now, app_settings.tz)
    # a first upgrade: from the event, reviewed a period after it is made
    assert tier_service.upgrade_dates(
        ladder, at=yesterday, now=now, since=None, review_at=None, tz=app_settings.tz
    ) == (yesterday, a_year)
    # an upgrade from a tier begun after the event: since that tier began
    begun = now - timedelta(hours=2)
    assert tier_service.upgrade_dates(
        ladder, at=yesterday, now=now, since=begun, review_at=None, tz=app_settings.tz
    ) == (begun, a_year)
    # a review set later already stays
    later = a_year + timedelta(days=40)
    assert tier_service.upgrade_dates(
        ladder, at=yesterday, now=now, since=begun, review_at=later, tz=app_settings.tz
    ) == (begun, later)


@time_machine.travel(MIDDAY_IN_SHANGHAI, tick=True)
def test_a_back_dated_event_keeps_tier_dates_from_moving_back(database: Database) -> None:
    # given twelve-month periods and a member silver since an hour ago
    set_rules(database, tier_ladder=TWELVE_MONTHS)
    no = register(database, "13800138000")
    buy(database, no, "O-1", 70_000, utcnow() - timedelta(days=3))  # growth 700
    buy(database, no, "O-2", 30_000, utcnow() - timedelta(hours=1))  # growth 1,000: silver
    silver = dates_of(database, no)
    assert tier_of(database, no)[0] == "silver"

    # when a sign-in dated two days ago would have been reached earlier, nothing moves back
    set_rules(
        database,
        growth_rules={"behaviours": {"sign_in": {"growth": 5000, "cap": 5000, "per": "day"}}},
    )
    with database.session_scope() as session:
        result = growth_service.record(
            session,
            program=program_service.get(session),
            member_no=no,
            kind="sign_in",
            occurred_at=utcnow() - timedelta(days=2),
            external_id="E-1",
        )
    assert result.tier.code == "gold" and result.tier.upgraded

    # then gold holds from when silver began, reviewed no earlier than silver was
    assert dates_of(database, no) == silver


@time_machine.travel(MIDDAY_IN_SHANGHAI, tick=True)
def test_replayed_history_dates_its_upgrades_as_of_their_own_time(database: Database) -> None:
    # given twelve-month periods and an order of the merchant's own history, 200 days back
    set_rules(database, tier_ladder=TWELVE_MONTHS)
    no = register(database, "13800138000")
    then = utcnow() - timedelta(days=200)
    with database.session_scope() as session:
        result = order_service.post_order(
            session,
            program=program_service.get(session),
            order=order_service.OrderIn(
                external_id="H-1",
                member=order_service.MemberRef(member_no=no),
                store_code=None,
                channel="store",
                occurred_at=then,
                lines=[order_service.LineIn("A1", "x", "apparel", 1, 100_000, 100_000)],
                payments=[order_service.PaymentIn("card", 100_000)],
            ),
            timing=Timing.replay(then + timedelta(minutes=5)),
        )
    assert result.tier is not None and result.tier.code == "gold"

    # then the tier holds from then and is reviewed a period after then, not after today
    ladder = parse_ladder(TWELVE_MONTHS)
    assert dates_of(database, no) == (then, ladder.period_end(then, app_settings.tz))


# --- refunds --------------------------------------------------------------------------------


def test_a_refund_leaves_the_tier_when_the_ladder_says_so(database: Database) -> None:
    set_rules(database, tier_ladder={**DEFAULT_LADDER, "refund_reverts_upgrade": False})
    no = register(database, "13800138000")
    assert buy(database, no, "O-1", 80_000).tier.code == "gold"  # type: ignore[union-attr]

    result = refund_all(database, "RF-1", "O-1")

    assert result.tier is not None and (result.tier.code, result.tier.reverted) == ("gold", False)
    assert tier_of(database, no)[0] == "gold"


def test_a_refund_of_an_order_before_the_upgrade_judges_what_is_left(database: Database) -> None:
    # given silver by growth over two orders on different days
    no = register(database, "13800138000")
    buy(database, no, "O-1", 60_000, utcnow() - timedelta(days=3))
    assert buy(database, no, "O-2", 50_000, utcnow() - timedelta(days=2)).tier.code == "silver"  # type: ignore[union-attr]

    # when the first is returned, the 500 growth left is short of silver: back to regular
    result = refund_all(database, "RF-1", "O-1")

    assert result.tier is not None and (result.tier.code, result.tier.reverted) == (
        "regular",
        True,
    )
    with database.session_scope() as session:
        last = session.scalars(select(TierChange).order_by(TierChange.id.desc())).first()
        assert last is not None
        assert (last.from_code, last.to_code, last.reason, last.review_at) == (
            "silver",
            "regular",
            "refund",
            None,
        )


# --- property: random ladders replaced with moves ------------------------------------------------

CODES = ("regular", "silver", "gold", "black", "vip", "basic", "star")


def ladder_of(codes: list[str]) -> dict[str, Any]:
    tiers: list[dict[str, Any]] = [{"code": codes[0], "name": codes[0]}]
    tiers += [
        {"code": code, "name": code, "qualify": {"growth_at_least": 1000 * level}}
        for level, code in enumerate(codes[1:], start=1)
    ]
    return {"tiers": tiers}


def snapshot(database: Database) -> tuple[dict[str, str], list[tuple[Any, ...]]]:
    with database.session_scope() as session:
        members = dict(session.execute(select(Member.member_no, Member.tier_code)).all())
        history = [
            tuple(row)
            for row in session.execute(
                select(
                    TierChange.member_id,
                    TierChange.from_code,
                    TierChange.to_code,
                    TierChange.reason,
                ).order_by(TierChange.id)
            )
        ]
        return members, history


@PROPERTY
@given(
    granted=st.lists(
        st.sampled_from(("regular", "silver", "gold", "black")), min_size=1, max_size=4
    ),
    data=st.data(),
)
def test_no_member_ever_holds_a_code_the_ladder_lacks(
    database: Database, granted: list[str], data: st.DataObject
) -> None:
    reset(database)
    # given members granted tiers of the default ladder
    numbers = []
    for index, code in enumerate(granted):
        number = register(database, f"1380013{index:04d}")
        if code != "regular":
            grant(database, number, code, f"G-{index}", allow_down=False)
        numbers.append(number)

    ids = member_ids(database)
    for _step in range(data.draw(st.integers(1, 4), label="ladders")):
        members, history = snapshot(database)
        codes = data.draw(
            st.lists(st.sampled_from(CODES), min_size=1, max_size=4, unique=True), label="codes"
        )
        dropped = sorted(set(members.values()) - set(codes))
        moves = {
            code: target
            for code in dropped
            if (target := data.draw(st.one_of(st.none(), st.sampled_from(codes)), label=code))
        }
        # when the ladder is replaced
        try:
            with database.session_scope() as session:
                tier_service.replace_ladder(
                    session,
                    program=program_service.get(session),
                    config=ladder_of(codes),
                    moves=moves,
                    now=utcnow(),
                )
        except tier_service.TiersInUse:
            # then a refusal is exactly the case of a held tier without a move, changing nothing
            assert set(dropped) - set(moves)
            assert snapshot(database) == (members, history)
            continue
        assert not set(dropped) - set(moves)
        after, after_history = snapshot(database)
        # then every member holds a tier of the ladder: their own, or where the moves said
        assert after == {no: moves.get(code, code) for no, code in members.items()}
        assert set(after.values()) <= set(codes)
        # and history only grew, by one ladder change per member moved
        assert after_history[: len(history)] == history
        assert sorted(after_history[len(history) :]) == sorted(
            (ids[no], code, moves[code], "ladder_change")
            for no, code in members.items()
            if code in moves
        )


def member_ids(database: Database) -> dict[str, int]:
    with database.session_scope() as session:
        return dict(session.execute(select(Member.member_no, Member.id)).all())


# --- property: random orders and refunds ------------------------------------------------------

#: Yuan: around the default ladder's thresholds (800.00 in a day, 1,000 and 5,000 growth).
amounts = st.one_of(st.sampled_from((300, 500, 799, 800, 1000, 2000, 3000)), st.integers(1, 3000))
order_step = st.tuples(st.just("order"), amounts, st.integers(0, 72))
orders_and_refunds = st.lists(
    st.one_of(
        order_step,
        order_step,
        st.tuples(st.just("refund"), st.integers(0, 20), st.sampled_from((100, 50, 10, 90))),
        st.tuples(st.just("refund"), st.integers(0, 20), st.integers(1, 100)),
        st.tuples(st.just("grant"), st.sampled_from(("silver", "gold", "black")), st.just(0)),
    ),
    min_size=1,
    max_size=12,
)


@PROPERTY
@given(steps=orders_and_refunds, data=st.data())
def test_after_refunding_everything_no_refund_caused_upgrade_remains(
    database: Database, steps: list[tuple[str, Any, int]], data: st.DataObject
) -> None:
    reset(database)
    no = register(database, "13800138000")
    ladder = parse_ladder(DEFAULT_LADDER)
    placed: list[tuple[str, int]] = []  # external id, amount in minor units
    refunded: dict[str, int] = {}
    granted: str | None = None
    for number, (kind, value, extra) in enumerate(steps):
        since, review_at = dates_of(database, no)
        if kind == "order":
            external_id = f"O-{number}"
            result = buy(database, no, external_id, value * 100, utcnow() - timedelta(hours=extra))
            placed.append((external_id, value * 100))
            if result.tier is not None and result.tier.upgraded:
                # an upgrade never moves tier dates into the past
                new_since, new_review = dates_of(database, no)
                assert since is None or (new_since is not None and new_since >= since)
                assert review_at is None or (new_review is not None and new_review >= review_at)
        elif kind == "refund" and placed:
            external_id, total = placed[value % len(placed)]
            left = total - refunded.get(external_id, 0)
            if left <= 0:
                continue
            amount = max(1, left * extra // 100)
            before = tier_of(database, no)[0]
            with database.session_scope() as session:
                result = order_service.post_refund(
                    session,
                    program=program_service.get(session),
                    refund=order_service.RefundIn(
                        external_id=f"RF-{number}",
                        order_external_id=external_id,
                        occurred_at=utcnow(),
                        amount_minor=amount,
                    ),
                )
            refunded[external_id] = refunded.get(external_id, 0) + amount
            assert result.tier is not None
            # a refund never moves a member up, and moves down only to revert
            assert ladder.level_of(result.tier.code) <= ladder.level_of(before)
            assert result.tier.reverted == (result.tier.code != before)
        elif kind == "grant":
            grant(database, no, value, f"G-{number}", allow_down=True)
            granted = value

    # when everything left is returned, in any order
    left = [external_id for external_id, total in placed if refunded.get(external_id, 0) < total]
    for external_id in data.draw(st.permutations(left), label="last refunds"):
        refund_all(database, f"RF-last-{external_id}", external_id)

    # then no upgrade an order gave remains: the member holds the last grant, or nothing
    assert tier_of(database, no)[0] == (granted or "regular")
    with database.session_scope() as session:
        for change in session.scalars(select(TierChange).where(TierChange.reason == "refund")):
            assert ladder.level_of(change.to_code) < ladder.level_of(change.from_code)


def test_new_members_start_in_the_entry_tier_of_the_ladder(database: Database) -> None:
    set_rules(database, tier_ladder=ladder_of(["basic", "vip"]))
    no = register(database, "13800138000")
    assert tier_of(database, no) == ("basic", None)


def test_a_refund_never_moves_a_member_back_to_a_tier_the_ladder_dropped(
    database: Database,
) -> None:
    # given silver by growth, gold by a day's spend, then a ladder without silver (nobody
    # holds it any more, so no moves are needed)
    no = register(database, "13800138000")
    buy(database, no, "O-1", 60_000, utcnow() - timedelta(days=3))
    buy(database, no, "O-2", 50_000, utcnow() - timedelta(days=2))
    assert buy(database, no, "O-3", 85_000).tier.code == "gold"  # type: ignore[union-attr]
    ladder = {
        **DEFAULT_LADDER,
        "tiers": [t for t in DEFAULT_LADDER["tiers"] if t["code"] != "silver"],
    }
    with database.session_scope() as session:
        tier_service.replace_ladder(
            session, program=program_service.get(session), config=ladder, moves={}, now=utcnow()
        )

    # when the gold order is returned, the member goes to a tier the ladder has
    result = refund_all(database, "RF-1", "O-3")

    assert result.tier is not None and (result.tier.code, result.tier.reverted) == (
        "regular",
        True,
    )
    assert tier_of(database, no) == ("regular", None)
