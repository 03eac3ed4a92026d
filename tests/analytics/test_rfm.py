"""RFM without a database: quintile scores, ties, both thresholds, every one of the eight
class cells (发展 and 挽留 not swapped), and the three classes of active members."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from memberkit.analytics.rfm import (
    CLASSES,
    ActiveClass,
    Cut,
    Purchases,
    RfmClass,
    Threshold,
    band,
    score,
)


def p(member_id: int, days: int, count: int, spend: int) -> Purchases:
    return Purchases(member_id, days_since=days, count=count, monetary_minor=spend)


def test_ten_members_fall_into_quintiles_two_by_two() -> None:
    # given ten members, member i bought i times for i yuan, last 10 - i days ago
    members = [p(i, 10 - i, i, i * 100) for i in range(1, 11)]

    # then the worst two score 1 in each dimension, the best two 5
    scored = score(members)
    assert [s.code for s in scored] == [
        "111",
        "111",
        "222",
        "222",
        "333",
        "333",
        "444",
        "444",
        "555",
        "555",
    ]


def test_equal_values_share_a_score() -> None:
    # given four members of whom three bought alike
    members = [p(1, 3, 2, 500), p(2, 3, 2, 500), p(3, 3, 2, 500), p(4, 1, 9, 9000)]

    scored = score(members)

    # then the three share the score of nobody doing worse (1), the fourth beats 3 of 4
    assert [s.code for s in scored] == ["111", "111", "111", "444"]


def test_band_is_one_plus_five_times_the_share_doing_worse() -> None:
    assert [band(worse, 10) for worse in range(10)] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert band(0, 1) == 1
    with pytest.raises(ValueError):
        band(3, 3)


@pytest.mark.parametrize(
    ("r_high", "f_high", "m_high", "expected"),
    [
        (True, True, True, RfmClass.important_value),  # 重要价值
        (False, True, True, RfmClass.important_keep),  # 重要保持
        (True, False, True, RfmClass.important_develop),  # 重要发展
        (False, False, True, RfmClass.important_win_back),  # 重要挽留
        (True, True, False, RfmClass.general_value),  # 一般价值
        (False, True, False, RfmClass.general_keep),  # 一般保持
        (True, False, False, RfmClass.general_develop),  # 一般发展
        (False, False, False, RfmClass.general_win_back),  # 一般挽留
    ],
)
def test_each_cell_of_the_eight_classes(
    r_high: bool, f_high: bool, m_high: bool, expected: RfmClass
) -> None:
    # given two members: a reference doing badly everywhere, and one high where told
    reference = p(1, 100, 1, 100)
    member = p(2, 1 if r_high else 100, 9 if f_high else 1, 9_000 if m_high else 100)

    # when scored with the mean cut (high: better than the mean of the two)
    scored = score([reference, member], Threshold(Cut.mean))

    # then the member's class is the cell's
    assert scored[1].rfm_class is expected
    assert CLASSES[(r_high, f_high, m_high)] is expected


def test_develop_is_recent_but_seldom_and_win_back_is_neither() -> None:
    # the pair many published tables swap, said once more with plain members
    recent_seldom_big = p(1, 2, 1, 90_000)
    lapsed_seldom_big = p(2, 300, 1, 90_000)
    others = [p(i, 150, 5, 100) for i in range(3, 9)]
    scored = score([recent_seldom_big, lapsed_seldom_big, *others], Threshold(Cut.mean))
    assert scored[0].rfm_class is RfmClass.important_develop
    assert scored[1].rfm_class is RfmClass.important_win_back


def test_the_score_cut_reads_the_scores() -> None:
    members = [p(i, 10 - i, i, i * 100) for i in range(1, 11)]
    at_four = score(members, Threshold(Cut.score, 4))
    at_five = score(members, Threshold(Cut.score, 5))
    assert [s.rfm_class for s in at_four[6:]] == [RfmClass.important_value] * 4
    assert at_four[5].rfm_class is RfmClass.general_win_back
    assert [s.rfm_class for s in at_five[6:8]] == [RfmClass.general_win_back] * 2
    with pytest.raises(ValueError):
        Threshold(Cut.score, 6)


@pytest.mark.parametrize(
    ("f_high", "m_high", "expected"),
    [
        (True, True, ActiveClass.loyal),
        (True, False, ActiveClass.loyal),
        (False, True, ActiveClass.opportunity),
        (False, False, ActiveClass.random),
    ],
)
def test_the_three_classes_of_active_members(
    f_high: bool, m_high: bool, expected: ActiveClass
) -> None:
    reference = p(1, 10, 1, 100)
    member = p(2, 10, 9 if f_high else 1, 9_000 if m_high else 100)
    assert score([reference, member], Threshold(Cut.mean))[1].active_class is expected


def test_nobody_to_score_scores_nobody_and_a_member_without_purchase_is_refused() -> None:
    assert score([]) == []
    with pytest.raises(ValueError):
        p(1, 3, 0, 0)


@given(
    st.lists(
        st.tuples(st.integers(0, 400), st.integers(1, 50), st.integers(0, 10**9)),
        min_size=1,
        max_size=60,
    )
)
def test_scores_are_bands_that_order_as_the_values_do(rows: list[tuple[int, int, int]]) -> None:
    members = [p(i, *row) for i, row in enumerate(rows)]
    scored = score(members)
    for a, sa in zip(members, scored, strict=True):
        assert 1 <= sa.r <= 5 and 1 <= sa.f <= 5 and 1 <= sa.m <= 5
        for b, sb in zip(members, scored, strict=True):
            # better never scores lower; equal always scores the same
            if a.days_since < b.days_since:
                assert sa.r >= sb.r
            if a.count > b.count:
                assert sa.f >= sb.f
            if a.monetary_minor == b.monetary_minor:
                assert sa.m == sb.m
