"""Tier meaning on a real database: codes across ladder changes.

A property over random ladders replaced with moves.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from memberkit.db import Database
from memberkit.kit.time import today, utcnow
from memberkit.member import service as member_service
from memberkit.member.models import Member
from memberkit.program import service as program_service
from memberkit.tier import service as tier_service
from memberkit.tier.models import TierChange
from memberkit.tier.rules import DEFAULT_LADDER
from tests.conftest import _reset as reset
from tests.conftest import set_rules
from tests.tier.test_service import register, tier_of

PROPERTY = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
TWELVE_MONTHS = {**DEFAULT_LADDER, "period": "twelve_months"}


def grant(database: Database, member_no: str, code: str, key: str) -> None:
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
            grant(database, number, code, f"G-{index}")
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


def test_new_members_start_in_the_entry_tier_of_the_ladder(database: Database) -> None:
    set_rules(database, tier_ladder=ladder_of(["basic", "vip"]))
    no = register(database, "13800138000")
    assert tier_of(database, no) == ("basic", None)
