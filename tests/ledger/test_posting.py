"""Which lots a spend or a claw-back consumes, and how a credit pays off debt."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from memberkit.ledger.posting import OpenLot, Take, consume, settle_debt

JAN = datetime(2027, 1, 1, tzinfo=UTC)
FEB = datetime(2027, 2, 1, tzinfo=UTC)
MAR = datetime(2027, 3, 1, tzinfo=UTC)


def test_consume_takes_the_earliest_expiry_first() -> None:
    # given lots listed out of expiry order
    lots = [OpenLot(1, 100, MAR), OpenLot(2, 50, JAN), OpenLot(3, 80, FEB)]

    # when 120 points are consumed
    takes = consume(lots, 120)

    # then January's lot is drained, then February's
    assert takes == [Take(2, 50), Take(3, 70)]


def test_consume_takes_never_expiring_lots_last() -> None:
    # given a never-expiring lot with a smaller id than the expiring ones
    lots = [OpenLot(1, 100, None), OpenLot(2, 30, MAR), OpenLot(3, 20, JAN)]

    # when more than the expiring lots hold is consumed
    takes = consume(lots, 70)

    # then the expiring lots go first and the never-expiring lot covers the rest
    assert takes == [Take(3, 20), Take(2, 30), Take(1, 20)]


def test_consume_breaks_equal_expiries_by_lot_id() -> None:
    lots = [OpenLot(9, 10, JAN), OpenLot(4, 10, JAN), OpenLot(7, 10, None), OpenLot(5, 10, None)]

    assert consume(lots, 40) == [Take(4, 10), Take(9, 10), Take(5, 10), Take(7, 10)]


def test_consume_drains_the_first_lot_before_the_others() -> None:
    # given a refund whose own order's lot (3) expires last
    lots = [OpenLot(1, 100, JAN), OpenLot(2, 100, None), OpenLot(3, 40, MAR)]

    # when 60 points are clawed back with that lot first
    takes = consume(lots, 60, first=frozenset({3}))

    # then the order's lot is emptied, then the earliest expiry
    assert takes == [Take(3, 40), Take(1, 20)]


def test_consume_drains_a_never_expiring_first_lot_first() -> None:
    lots = [OpenLot(1, 100, JAN), OpenLot(2, 100, None)]

    assert consume(lots, 30, first=frozenset({2})) == [Take(2, 30)]


def test_consume_ignores_a_first_lot_that_is_empty_or_unknown() -> None:
    lots = [OpenLot(1, 10, FEB), OpenLot(2, 0, JAN), OpenLot(3, 10, JAN)]

    assert consume(lots, 15, first=frozenset({2})) == [Take(3, 10), Take(1, 5)]
    assert consume(lots, 15, first=frozenset({99})) == [Take(3, 10), Take(1, 5)]


def test_consume_skips_empty_and_negative_lots() -> None:
    lots = [OpenLot(1, 0, JAN), OpenLot(2, -5, JAN), OpenLot(3, 10, FEB)]

    assert consume(lots, 10) == [Take(3, 10)]


def test_consume_returns_the_uncovered_part_as_a_take_without_lot() -> None:
    # given lots that hold 30 points
    lots = [OpenLot(1, 10, JAN), OpenLot(2, 20, None)]

    # when 75 points are clawed back
    takes = consume(lots, 75)

    # then both lots are emptied and 45 points become debt
    assert takes == [Take(1, 10), Take(2, 20), Take(None, 45)]


def test_consume_with_no_lots_is_all_debt() -> None:
    assert consume([], 12) == [Take(None, 12)]


def test_consume_of_zero_points_takes_nothing() -> None:
    assert consume([OpenLot(1, 10, JAN)], 0) == []
    assert consume([], 0) == []


def test_consume_of_exactly_the_lots_leaves_no_debt() -> None:
    lots = [OpenLot(1, 10, JAN), OpenLot(2, 20, FEB)]

    assert consume(lots, 30) == [Take(1, 10), Take(2, 20)]


def test_consume_refuses_negative_points_and_leaves_the_lots_alone() -> None:
    lots = [OpenLot(1, 10, JAN)]

    with pytest.raises(ValueError, match="must not be negative"):
        consume(lots, -1)

    assert lots == [OpenLot(1, 10, JAN)]


expiries = st.one_of(
    st.none(),
    st.integers(min_value=0, max_value=3650).map(lambda days: JAN + timedelta(days=days)),
)
lot_lists = st.lists(
    st.tuples(st.integers(min_value=-5, max_value=1000), expiries), max_size=15
).map(lambda raw: [OpenLot(i + 1, remaining, expiry) for i, (remaining, expiry) in enumerate(raw)])


@given(
    lot_lists,
    st.integers(min_value=0, max_value=20_000),
    st.frozensets(st.integers(0, 16), max_size=3),
)
def test_consume_takes_exactly_the_points_asked_within_each_lot(
    lots: list[OpenLot], points: int, first: frozenset[int]
) -> None:
    takes = consume(lots, points, first=first)

    by_id = {lot.id: lot for lot in lots}
    covered = sum(lot.remaining for lot in lots if lot.remaining > 0)
    assert sum(take.points for take in takes) == points
    assert all(take.points > 0 for take in takes)
    lot_takes = [take for take in takes if take.lot_id is not None]
    assert len({take.lot_id for take in lot_takes}) == len(lot_takes)
    assert all(take.points <= by_id[take.lot_id].remaining for take in lot_takes)
    debt = [take for take in takes if take.lot_id is None]
    if points > covered:
        assert debt == [Take(None, points - covered)]
        assert takes[-1] == debt[0]
    else:
        assert debt == []


@given(lot_lists, st.integers(min_value=0, max_value=20_000))
def test_consume_never_takes_a_later_expiry_while_an_earlier_lot_has_points(
    lots: list[OpenLot], points: int
) -> None:
    takes = consume(lots, points)

    by_id = {lot.id: lot for lot in lots}
    lot_takes = [take for take in takes if take.lot_id is not None]
    # every lot taken from but the last is drained, and none is skipped over
    for take in lot_takes[:-1]:
        assert take.points == by_id[take.lot_id].remaining
    taken = {take.lot_id for take in lot_takes}

    def order(lot: OpenLot) -> tuple[bool, datetime]:
        return (lot.expires_at is None, lot.expires_at or JAN)

    if lot_takes:
        last = order(by_id[lot_takes[-1].lot_id])
        skipped = [lot for lot in lots if lot.remaining > 0 and lot.id not in taken]
        assert all(order(lot) >= last for lot in skipped)


@pytest.mark.parametrize(
    ("balance_before", "credit", "split"),
    [
        (-30, 100, (30, 70)),
        (-100, 30, (30, 0)),
        (-50, 50, (50, 0)),
        (0, 40, (0, 40)),
        (25, 40, (0, 40)),
        (-10, 0, (0, 0)),
        (0, 0, (0, 0)),
    ],
)
def test_settle_debt_pays_off_debt_first(
    balance_before: int, credit: int, split: tuple[int, int]
) -> None:
    assert settle_debt(balance_before, credit) == split


def test_settle_debt_refuses_a_negative_credit() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        settle_debt(-10, -1)


@given(st.integers(-(10**9), 10**9), st.integers(0, 10**9))
def test_settle_debt_splits_the_whole_credit_and_never_overpays(
    balance_before: int, credit: int
) -> None:
    settled, lotted = settle_debt(balance_before, credit)

    assert settled + lotted == credit
    assert 0 <= settled <= max(0, -balance_before)
    assert lotted >= 0
    if balance_before >= 0:
        assert settled == 0
    else:
        assert settled == credit or settled == -balance_before
