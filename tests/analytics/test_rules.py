"""Analytics rules: settings, every lifecycle state and its boundaries, cut-offs (no database)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from memberkit.analytics.rfm import Cut, Purchases, Threshold, score
from memberkit.analytics.rules import (
    DEFAULT_ANALYTICS,
    AnalyticsError,
    AnalyticsRules,
    History,
    Lifecycle,
    cutoffs,
    lifecycle,
    parse_analytics,
    score_against,
)

AS_OF = date(2026, 6, 30)
RULES = AnalyticsRules(new_days=30, dormant_days=90, churned_days=180)


def ago(days: int) -> date:
    return AS_OF - timedelta(days=days)


def state(history: History) -> Lifecycle:
    return lifecycle(history, as_of=AS_OF, rules=RULES)


def bought(first: int, last: int, *, recent_first: int | None = None, previous: int | None = None):
    return History(
        registered_on=ago(1000),
        first_purchase_on=ago(first),
        last_purchase_on=ago(last),
        recent_first_on=None if recent_first is None else ago(recent_first),
        previous_on=None if previous is None else ago(previous),
    )


# Settings


def test_omitted_settings_take_their_documented_defaults() -> None:
    assert parse_analytics(None) == AnalyticsRules()
    assert parse_analytics({}).config() == DEFAULT_ANALYTICS
    assert parse_analytics({"cut": "mean", "window_days": 180}) == AnalyticsRules(
        window_days=180, threshold=Threshold(Cut.mean, 4)
    )
    assert parse_analytics({"new_days": 90, "dormant_days": 90, "churned_days": 91}).config() == {
        **DEFAULT_ANALYTICS,
        "new_days": 90,
        "dormant_days": 90,
        "churned_days": 91,
    }


@pytest.mark.parametrize(
    ("config", "said"),
    [
        ({"window_days": 0}, "window_days must be a whole number from 1 to 3650"),
        ({"window_days": 3651}, "window_days must be a whole number from 1 to 3650"),
        ({"window_days": "365"}, "window_days must be a whole number from 1 to 3650"),
        ({"at": 6}, "at must be a whole number from 1 to 5"),
        ({"at": True}, "at must be a whole number from 1 to 5"),
        ({"cut": "median"}, 'cut is "score" (a score of at least "at") or "mean"'),
        ({"new_days": -1}, "new_days must be a whole number from 1 to 3650"),
        (
            {"dormant_days": 180, "churned_days": 180},
            "the days must run new_days ≤ dormant_days < churned_days (given 30, 180, 180)",
        ),
        (
            {"new_days": 91},
            "the days must run new_days ≤ dormant_days < churned_days (given 91, 90, 180)",
        ),
        ({"colour": 1}, "unknown analytics settings: colour"),
    ],
)
def test_bad_settings_are_refused_saying_why(config: dict[str, object], said: str) -> None:
    with pytest.raises(AnalyticsError) as refused:
        parse_analytics(config)
    assert str(refused.value) == said


# Lifecycle: members who bought


def test_new_is_a_first_purchase_fewer_than_new_days_ago() -> None:
    assert state(bought(0, 0)) is Lifecycle.new
    assert state(bought(29, 3, recent_first=29)) is Lifecycle.new
    assert state(bought(30, 3, recent_first=30)) is Lifecycle.active


def test_active_is_a_last_purchase_fewer_than_dormant_days_ago() -> None:
    assert state(bought(400, 89, recent_first=89, previous=100)) is Lifecycle.active
    assert state(bought(400, 90, previous=90)) is Lifecycle.dormant


def test_dormant_runs_from_dormant_days_to_churned_days() -> None:
    assert state(bought(400, 90, previous=90)) is Lifecycle.dormant
    assert state(bought(400, 179, previous=179)) is Lifecycle.dormant
    assert state(bought(400, 180, previous=180)) is Lifecycle.churned


def test_churned_is_no_purchase_in_churned_days() -> None:
    assert state(bought(900, 180, previous=180)) is Lifecycle.churned
    assert state(bought(900, 900, previous=900)) is Lifecycle.churned


def test_won_back_is_a_recent_return_after_a_gap_longer_than_dormant_days() -> None:
    # Came back 10 days ago after 91 days away: was dormant the day before, so won back.
    assert state(bought(400, 10, recent_first=10, previous=101)) is Lifecycle.won_back
    # and stays won back however often they buy again within dormant_days of the return.
    assert state(bought(400, 0, recent_first=89, previous=180)) is Lifecycle.won_back
    # A gap of exactly dormant_days never made them dormant: active.
    assert state(bought(400, 10, recent_first=10, previous=100)) is Lifecycle.active
    # What counts is the gap before the first purchase of the recent span.
    assert state(bought(400, 5, recent_first=60, previous=400)) is Lifecycle.won_back
    assert state(bought(400, 5, recent_first=60, previous=150)) is Lifecycle.active


def test_new_wins_over_won_back_and_won_back_never_without_a_previous_purchase() -> None:
    assert state(bought(20, 1, recent_first=20)) is Lifecycle.new
    assert state(bought(60, 1, recent_first=60)) is Lifecycle.active


# Lifecycle: members who never bought


def never(registered: int) -> History:
    return History(registered_on=ago(registered))


def test_a_member_who_never_bought_counts_from_registration() -> None:
    assert state(never(0)) is Lifecycle.new
    assert state(never(29)) is Lifecycle.new
    assert state(never(30)) is Lifecycle.dormant
    assert state(never(179)) is Lifecycle.dormant
    assert state(never(180)) is Lifecycle.churned


# Cut-offs


purchases = st.lists(
    st.tuples(st.integers(0, 400), st.integers(1, 30), st.integers(0, 10**6)),
    min_size=1,
    max_size=60,
)


@given(purchases, st.sampled_from([Threshold(), Threshold(Cut.score, 2), Threshold(Cut.mean)]))
def test_cutoffs_score_every_member_as_the_full_scoring_did(
    rows: list[tuple[int, int, int]], threshold: Threshold
) -> None:
    members = [Purchases(i, d, c, m) for i, (d, c, m) in enumerate(rows)]
    cut = cutoffs(members)
    assert cut is not None
    assert [score_against(p, cut, threshold) for p in members] == score(members, threshold)


def test_cutoffs_of_five_members_are_their_values() -> None:
    members = [
        Purchases(i, d, c, m)
        for i, (d, c, m) in enumerate(
            [(1, 5, 500), (2, 4, 400), (3, 3, 300), (4, 2, 200), (5, 1, 100)]
        )
    ]
    cut = cutoffs(members)
    assert cut is not None
    assert cut.recency == (4, 3, 2, 1)
    assert cut.frequency == (2, 3, 4, 5)
    assert cut.monetary == (101, 201, 301, 401)
    assert (cut.scored, cut.sum_days, cut.sum_count, cut.sum_monetary) == (5, 15, 15, 1500)
    # A newcomer equal to the third member scores as the third; spending more than three
    # of the five scores 4 in M.
    assert score_against(Purchases(9, 3, 3, 300), cut, Threshold()).code == "333"
    assert score_against(Purchases(9, 3, 3, 350), cut, Threshold()).code == "334"
    assert cutoffs([]) is None
