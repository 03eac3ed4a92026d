"""The demo chain looks like a real one, and loads beside a server that answers at once."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from memberkit import demo
from memberkit.app import create_app
from memberkit.cli.main import app as cli
from memberkit.db import Database
from memberkit.kit.time import utcnow
from memberkit.ledger.models import LedgerTransaction, TransactionKind
from memberkit.member import service as member_service
from memberkit.member.models import Member
from memberkit.order.models import Order, Refund
from memberkit.store.models import Store
from memberkit.tier.models import TierChange, TierChangeReason
from tests.conftest import _reset

TZ = ZoneInfo("Asia/Shanghai")


def test_a_small_demo_looks_like_a_chain_and_keeps_the_ledger(database: Database) -> None:
    # given a small demo with the default's ratio of orders to members (12 each)
    summary = demo.load(database, members=300, orders=3600, now=utcnow())

    with database.session_scope(read_only=True) as session:
        members = list(session.scalars(select(Member)))
        orders = list(session.scalars(select(Order)))
        stores = {store.id: store for store in session.scalars(select(Store))}
        phones = [member_service.view(session, member).phone for member in members]
        kinds = Counter(session.scalars(select(LedgerTransaction.kind)))
        grants = session.scalar(
            select(func.count(TierChange.id)).where(TierChange.reason == TierChangeReason.grant)
        )

    # then the tiers make a pyramid: most regular, each tier above smaller, few at the top
    tiers = Counter(member.tier_code for member in members)
    shares = [tiers[code] / len(members) for code in ("regular", "silver", "gold", "black")]
    assert shares[0] >= 0.6, tiers
    assert shares[0] > shares[1] > shares[2] > shares[3], tiers
    assert shares[2] + shares[3] <= 0.15, tiers

    # stores sell in their opening hours, with a lunch and an evening peak, busier at weekends
    in_store = [order for order in orders if order.channel == "store"]
    hours = Counter(order.occurred_at.astimezone(TZ).hour for order in in_store)
    assert set(hours) <= set(range(8, 22)), hours
    assert hours[12] + hours[13] > 1.5 * (hours[15] + hours[16]), hours
    assert hours[18] + hours[19] > 1.5 * (hours[15] + hours[16]), hours
    assert hours[12] > hours[10] and hours[18] > hours[21], hours
    days = Counter(order.occurred_at.astimezone(TZ).weekday() for order in orders)
    assert min(days[5], days[6]) > 1.2 * max(days[d] for d in range(4)), days

    # every store opened before its first order, and before its first member joined there
    for order in in_store:
        assert order.store_id is not None
        assert order.occurred_at >= stores[order.store_id].created_at
    for member in members:
        if member.store_id is not None:
            assert member.created_at >= stores[member.store_id].created_at

    # members shop mostly at their home store; online orders only from who joined online
    by_id = {member.id: member for member in members}
    homed = [order for order in in_store if by_id[order.member_id].store_id is not None]
    at_home = sum(order.store_id == by_id[order.member_id].store_id for order in homed)
    assert at_home / len(homed) >= 0.75
    same_city = sum(
        stores[order.store_id].city == stores[by_id[order.member_id].store_id].city  # type: ignore[index]
        for order in homed
    )
    assert same_city / len(homed) >= 0.9
    for order in orders:
        if order.channel != "store":
            assert order.store_id is None
            assert by_id[order.member_id].channel == order.channel
    assert {"online", "mini_program"} <= {order.channel for order in orders}

    # referrals, behaviour events, hand adjustments and tier grants are all there
    assert sum(member.referrer_id is not None for member in members) == summary.referrals > 0
    # (an event over its cap, a second sign-in on one day, is recorded but posts nothing)
    assert 0 < kinds[TransactionKind.behaviour] <= summary.behaviour_events
    assert kinds[TransactionKind.adjust] == summary.adjustments > 0
    assert grants == summary.grants > 0

    # mobile numbers under real operator prefixes, none twice
    assert all(len(phone) == 11 and phone[:3] in demo.MOBILE_PREFIXES for phone in phones)
    assert all(phone[:2] in ("13", "15", "18", "19") for phone in phones)
    assert len(set(phones)) == len(phones)

    # and the ledger holds
    assert CliRunner().invoke(cli, ["ledger", "check"]).exit_code == 0


def test_the_demo_loads_in_the_background_and_health_tells_how_far(database: Database) -> None:
    # given a server, with no demo loading ever started in its data directory
    demo.status_path().unlink(missing_ok=True)
    with TestClient(create_app(scheduler=False, outbox_worker=False)) as client:
        assert client.get("/health").json() == {"status": "ok", "database": "ok"}

        # when the demo loader starts: it returns once the staff accounts are there
        loader = demo.Loader(database, members=30, orders=300)
        loader.start()
        assert [login.username for login in loader.logins] == ["owner", "manager", "cashier"]
        seen = client.get("/health").json()["demo"]
        assert seen["state"] == "loading"

        # then, once loaded, health says so with what was made
        assert loader.wait(timeout=300)
        loaded = client.get("/health").json()["demo"]
    try:
        assert loader.error is None
        assert {k: loaded[k] for k in ("state", "members", "orders")} == {
            "state": "loaded",
            "members": 30,
            "orders": 300,
        }
        assert CliRunner().invoke(cli, ["ledger", "check"]).exit_code == 0
    finally:
        demo.status_path().unlink(missing_ok=True)


def test_a_demo_loading_stopped_midway_says_interrupted_and_keeps_what_committed(
    database: Database,
) -> None:
    # given a demo loading
    loader = demo.Loader(database, members=600, orders=6000)
    loader.start()
    try:
        # when the server stops it
        loader.stop()
        # then it has stopped, says so, and what it committed is consistent
        assert loader.wait(timeout=1)
        assert (demo.status() or {})["state"] == "interrupted"
        assert CliRunner().invoke(cli, ["ledger", "check"]).exit_code == 0
    finally:
        demo.status_path().unlink(missing_ok=True)


def test_demo_moments_fall_in_the_span_asked_for() -> None:
    # given a span of one hour on a Tuesday night (stores closed)
    begin = utcnow().replace(microsecond=0)
    rng = random.Random(1)
    # when moments are drawn in it, they still fall inside it
    for _n in range(50):
        moment = demo._moment(rng, TZ, begin, begin + timedelta(hours=1))
        assert begin <= moment < begin + timedelta(hours=1)


def _chain(database: Database) -> dict[str, object]:
    """What a demo drew: members by phone, orders with their lines, refunds, recharges."""
    with database.session_scope(read_only=True) as session:
        members = list(session.scalars(select(Member)))
        return {
            "members": {
                member_service.view(session, member).phone: member.member_no for member in members
            },
            "orders": {
                row.external_id: tuple(row)
                for row in session.execute(
                    select(
                        Order.external_id,
                        Order.total_minor,
                        Order.refunded_minor,
                        Order.occurred_at,
                        Order.store_id,
                        Order.channel,
                    )
                )
            },
            "refunds": set(session.scalars(select(Refund.external_id))),
            "recharges": session.scalar(
                select(func.count())
                .select_from(LedgerTransaction)
                .where(LedgerTransaction.kind == TransactionKind.recharge)
            ),
        }


def test_a_demo_loading_cut_short_resumes_to_the_chain_an_uncut_one_draws(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the chain a demo draws when nothing stops it (in small batches)
    monkeypatch.setattr(demo, "MEMBER_BATCH", 40)
    monkeypatch.setattr(demo, "STEP_BATCH", 100)
    now = utcnow()
    whole = demo.load(database, members=120, orders=1000, now=now)
    expected = _chain(database)
    _reset(database)

    for stage, at in (("members", 80), ("orders", 500)):
        # when a loading of the same seed and moment is stopped midway (in that stage)...
        def stop_at(seen: str, done: int, _total: int, stage: str = stage, at: int = at) -> None:
            if seen == stage and done >= at:
                raise demo.Stopped

        with pytest.raises(demo.Stopped):
            demo.load(database, members=120, orders=1000, now=now, progress=stop_at)
        # ...and loaded again
        resumed = demo.load(database, members=120, orders=1000, now=now)

        # then it finished what was left: the same members, orders, refunds and recharges
        assert resumed.resumed
        assert _chain(database) == expected
        assert (resumed.members, resumed.orders, resumed.refunds, resumed.recharges) == (
            whole.members,
            whole.orders,
            whole.refunds,
            whole.recharges,
        )
        assert CliRunner().invoke(cli, ["ledger", "check"]).exit_code == 0
        _reset(database)


def test_a_server_started_again_resumes_the_loading_it_stopped(database: Database) -> None:
    # given a demo loading stopped by the server once its members were in
    loader = demo.Loader(database, members=40, orders=400)
    loader.start()
    try:
        loader.stop()
        asked = (demo.status() or {})["asked"]
        assert asked == {"members": 40, "orders": 400, "seed": 20261122, "now": asked["now"]}

        # when the server starts again, it finds the loading to resume
        again = demo.Loader.resuming(database)
        assert again is not None
        again.start()
        assert again.wait(timeout=300)

        # then the demo is loaded whole, and nothing is left to resume
        assert again.error is None
        assert (demo.status() or {})["state"] == "loaded"
        with database.session_scope(read_only=True) as session:
            assert session.scalar(select(func.count()).select_from(Member)) == 40
            assert session.scalar(select(func.count()).select_from(Order)) == 400
        assert demo.Loader.resuming(database) is None
        assert CliRunner().invoke(cli, ["ledger", "check"]).exit_code == 0
    finally:
        demo.status_path().unlink(missing_ok=True)


def test_a_status_without_what_was_asked_is_not_resumed(database: Database) -> None:
    # given the status an older version left: interrupted, but not saying what it was asked
    demo._record(state="interrupted", stage="orders", done=1, total=2, percent=50)
    try:
        # then the server does not try to resume it
        assert demo.Loader.resuming(database) is None
    finally:
        demo.status_path().unlink(missing_ok=True)
