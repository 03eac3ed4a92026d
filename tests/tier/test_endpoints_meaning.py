"""Tiers mean what the ladder says: codes not positions, refunds undo upgrades, honest dates."""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any

from memberkit.config import settings
from memberkit.db import Database
from memberkit.kit.time import iso, today, utcnow
from memberkit.tier.rules import DEFAULT_LADDER, parse_ladder
from tests.rest import Api, order_body, table_contents


def ago(**delta: float) -> str:
    return (utcnow() - timedelta(**delta)).isoformat()


def buy(admin: Api, no: str, external_id: str, amount: str, at: str | None = None) -> Any:
    line = {
        "sku": "A1",
        "name": "外套",
        "category": "apparel",
        "quantity": 1,
        "unit_price": amount,
        "amount": amount,
    }
    body = order_body(
        no,
        external_id,
        occurred_at=at or ago(hours=1),
        lines=[line],
        payments=[{"method": "wechat", "amount": amount}],
    )
    response = admin.post("/api/v1/orders", body)
    assert response.status_code == 201, response.text
    return response.json()


def refund(admin: Api, external_id: str, order: str, **extra: Any) -> Any:
    response = admin.post(
        "/api/v1/refunds", {"external_id": external_id, "order_external_id": order, **extra}
    )
    assert response.status_code == 201, response.text
    return response.json()


def put_ladder(admin: Api, ladder: dict[str, Any], **headers: str) -> Any:
    return admin.client.put("/api/v1/tiers", json=ladder, headers={**admin.headers, **headers})


def tier_of(admin: Api, no: str) -> Any:
    response = admin.get(f"/api/v1/members/{no}/tier")
    assert response.status_code == 200, response.text
    return response.json()


def grant(admin: Api, no: str, tier: str, key: str, **extra: Any) -> Any:
    body = {
        "tier": tier,
        "until": (today() + timedelta(days=30)).isoformat(),
        "reason": "VIP 客户",
        **extra,
    }
    return admin.post(f"/api/v1/members/{no}/tier/grants", body, **{"Idempotency-Key": key})


def moves_of(history: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(h["from_tier"], h["to_tier"], h["reason"]) for h in history]


GOLD = {"level": 2, "code": "gold", "name": "金卡会员"}
REGULAR = {"level": 0, "code": "regular", "name": "普通会员"}


# --- a refund reverses the upgrade it caused ------------------------------------------------


def test_a_full_refund_takes_back_the_gold_its_order_gave(
    admin: Api, member: dict[str, Any]
) -> None:
    # given a member who became gold at once by spending 800.00 in a day
    no = member["member_no"]
    assert buy(admin, no, "O-1", "800.00")["tier"] == {**GOLD, "upgraded": True}

    # when everything is returned
    returned = refund(admin, "RF-1", "O-1")

    # then the member is back where they were, recorded with reason refund
    assert returned["tier"] == {**REGULAR, "reverted": True}
    after = tier_of(admin, no)
    assert (after["tier"]["code"], after["review_at"]) == ("regular", None)
    assert moves_of(after["history"]) == [
        ("gold", "regular", "refund"),
        ("regular", "gold", "upgrade"),
    ]
    # and the next order earns without gold's multiplier (1.5)
    assert buy(admin, no, "O-2", "100.00")["points_earned"] == 100


def test_a_partial_refund_keeps_the_tier_while_it_is_still_met(
    admin: Api, member: dict[str, Any]
) -> None:
    # given gold from 1000.00 spent in one day
    no = member["member_no"]
    buy(admin, no, "O-1", "1000.00")

    # when 100.00 comes back, 900.00 spent that day still meets gold's 800.00
    kept = refund(admin, "RF-1", "O-1", amount="100.00")
    assert kept["tier"] == {**GOLD, "reverted": False}

    # when 150.00 more comes back: 750.00, and growth 750 is short of silver too
    lost = refund(admin, "RF-2", "O-1", amount="150.00")
    assert lost["tier"] == {**REGULAR, "reverted": True}
    assert moves_of(tier_of(admin, no)["history"])[0] == ("gold", "regular", "refund")


def test_a_refund_goes_back_to_the_tier_and_dates_before_the_upgrade(
    admin: Api, member: dict[str, Any]
) -> None:
    # given silver from growth (over two days), then gold from one day's spend (today)
    no = member["member_no"]
    buy(admin, no, "O-1", "600.00", ago(days=3))
    buy(admin, no, "O-2", "500.00", ago(days=2))
    silver = tier_of(admin, no)
    assert silver["tier"]["code"] == "silver"
    buy(admin, no, "O-3", "850.00")
    assert tier_of(admin, no)["tier"]["code"] == "gold"

    # when the gold order is returned
    returned = refund(admin, "RF-1", "O-3")

    # then silver again, with the since and review date silver had
    assert returned["tier"]["code"] == "silver" and returned["tier"]["reverted"] is True
    after = tier_of(admin, no)
    assert (after["since"], after["review_at"]) == (silver["since"], silver["review_at"])


def test_refunding_every_order_leaves_no_upgrade_behind(admin: Api, member: dict[str, Any]) -> None:
    # given silver by one order and gold by a later one
    no = member["member_no"]
    buy(admin, no, "O-1", "1000.00", ago(days=3))  # 1000.00 in a day: gold at once
    buy(admin, no, "O-2", "6000.00", ago(days=1))
    assert tier_of(admin, no)["tier"]["code"] == "gold"

    # when the first order is returned, the second still holds gold
    assert refund(admin, "RF-1", "O-1")["tier"] == {**GOLD, "reverted": False}
    # and when the second is returned too, nothing holds any tier
    assert refund(admin, "RF-2", "O-2")["tier"] == {**REGULAR, "reverted": True}


def test_the_ladder_may_keep_upgrades_after_refunds(admin: Api, member: dict[str, Any]) -> None:
    # given a ladder that lets refunds leave the tier alone until the review
    accepted = put_ladder(admin, {**DEFAULT_LADDER, "refund_reverts_upgrade": False})
    assert accepted.status_code == 200, accepted.text
    no = member["member_no"]
    buy(admin, no, "O-1", "800.00")

    # when the order is returned, the member stays gold
    assert refund(admin, "RF-1", "O-1")["tier"] == {**GOLD, "reverted": False}
    assert tier_of(admin, no)["tier"]["code"] == "gold"


def test_a_refund_never_undoes_a_grant(admin: Api, member: dict[str, Any]) -> None:
    # given silver granted by hand, then gold from an order
    no = member["member_no"]
    assert grant(admin, no, "silver", "G-1").status_code == 201
    granted = tier_of(admin, no)
    buy(admin, no, "O-1", "800.00")

    # when the order is returned: back to the granted silver, with the grant's dates
    assert refund(admin, "RF-1", "O-1")["tier"]["code"] == "silver"
    after = tier_of(admin, no)
    assert (after["since"], after["review_at"]) == (granted["since"], granted["review_at"])

    # given gold granted by hand, a returned order leaves it alone
    assert grant(admin, no, "gold", "G-2").status_code == 201
    buy(admin, no, "O-2", "900.00")
    assert refund(admin, "RF-2", "O-2")["tier"] == {**GOLD, "reverted": False}
    assert moves_of(tier_of(admin, no)["history"])[0] == ("silver", "gold", "grant")


# --- grants that move down -------------------------------------------------------------------


def test_a_grant_that_moves_down_needs_allow_down(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    # given a gold member
    no = member["member_no"]
    buy(admin, no, "O-1", "800.00")
    before = table_contents(database)

    # when silver is granted without allow_down, it is refused and nothing changes
    refused = grant(admin, no, "silver", "G-1")
    assert (refused.status_code, refused.json()["code"]) == (409, "grant_moves_down")
    assert refused.json()["detail"] == (
        f"此次授予会把会员 {no} 从 gold 降到 silver；如确需降级，请传 allow_down: true。"
    )
    assert table_contents(database) == before

    # when allowed, the member moves down, recorded as a grant
    allowed = grant(admin, no, "silver", "G-2", allow_down=True)
    assert allowed.status_code == 201, allowed.text
    assert allowed.json()["code"] == "silver"
    assert moves_of(tier_of(admin, no)["history"])[0] == ("gold", "silver", "grant")


# --- tiers are stored by code -------------------------------------------------------------------


def without_gold() -> dict[str, Any]:
    ladder = copy.deepcopy(DEFAULT_LADDER)
    ladder["tiers"] = [t for t in ladder["tiers"] if t["code"] != "gold"]
    return ladder


def test_a_new_ladder_that_drops_a_held_tier_is_refused_and_changes_nothing(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    # given a gold member and a regular one
    buy(admin, member["member_no"], "O-1", "800.00")
    other = admin.post("/api/v1/members", {"phone": "13900139000", "store_code": "SH001"})
    assert other.status_code == 201, other.text
    before = table_contents(database)

    # when the ladder drops gold without saying where its members go
    refused = put_ladder(admin, without_gold(), **{"Accept-Language": "en"})

    # then it is refused naming the tier and how many hold it, and nothing changed
    assert (refused.status_code, refused.json()["code"]) == (409, "tiers_in_use")
    assert refused.json()["detail"] == (
        "Members hold tiers the new ladder does not have: gold (1). Say where they go in "
        'moves, e.g. "moves": {"gold": "regular"}.'
    )
    assert table_contents(database) == before

    # and renaming the entry tier is dropping it too
    renamed = copy.deepcopy(DEFAULT_LADDER)
    renamed["tiers"][0]["code"] = "basic"
    refused = put_ladder(admin, renamed)
    assert (refused.status_code, refused.json()["code"]) == (409, "tiers_in_use")
    assert "regular (1)" in refused.json()["detail"]
    assert table_contents(database) == before


def test_moves_of_a_new_ladder_are_checked(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    buy(admin, member["member_no"], "O-1", "800.00")
    before = table_contents(database)
    for moves, problem in (
        ({"gold": "platinum"}, "platinum 不是新等级体系中的等级"),
        (
            {"gold": "silver", "silver": "black"},
            "silver 仍在新等级体系中；moves 只用于新体系去掉的等级",
        ),
    ):
        refused = put_ladder(admin, {**without_gold(), "moves": moves})
        assert (refused.status_code, refused.json()["code"]) == (422, "invalid_tier_moves")
        assert refused.json()["detail"] == f"等级迁移无效：{problem}"
        assert table_contents(database) == before


def test_moves_take_members_to_the_tier_named_and_history_keeps_its_codes(
    admin: Api, member: dict[str, Any]
) -> None:
    # given a gold member
    no = member["member_no"]
    buy(admin, no, "O-1", "800.00")
    review_at = tier_of(admin, no)["review_at"]

    # when the ladder drops gold and moves its members to silver
    accepted = put_ladder(admin, {**without_gold(), "moves": {"gold": "silver"}})
    assert accepted.status_code == 200, accepted.text
    assert "moves" not in admin.get("/api/v1/tiers").json()

    # then the member is silver, keeping the review date, by a recorded move
    after = tier_of(admin, no)
    assert after["tier"] == {"level": 1, "code": "silver", "name": "银卡会员", "upgraded": False}
    assert after["review_at"] == review_at
    assert after["history"][0]["actor"] == "api:test-admin"
    # and the history still says gold, which the ladder no longer has
    assert moves_of(after["history"]) == [
        ("gold", "silver", "ladder_change"),
        ("regular", "gold", "upgrade"),
    ]


def test_a_new_ladder_keeps_members_on_their_tier_by_code(
    admin: Api, member: dict[str, Any]
) -> None:
    # given a gold member
    no = member["member_no"]
    buy(admin, no, "O-1", "800.00")

    # when a tier is added below gold
    ladder = copy.deepcopy(DEFAULT_LADDER)
    bronze = {"code": "bronze", "name": "铜卡会员", "qualify": {"growth_at_least": 500}}
    ladder["tiers"].insert(1, bronze)
    assert put_ladder(admin, ladder).status_code == 200

    # then the member is still gold, now the fourth tier, and history is as it was
    after = tier_of(admin, no)
    assert after["tier"] == {"level": 3, "code": "gold", "name": "金卡会员", "upgraded": False}
    assert moves_of(after["history"]) == [("regular", "gold", "upgrade")]
    # and earns with gold's multiplier
    assert buy(admin, no, "O-2", "100.00")["points_earned"] == 150


def test_omitted_ladder_settings_take_their_documented_defaults(admin: Api) -> None:
    ladder = {
        k: v
        for k, v in DEFAULT_LADDER.items()
        if k not in ("notice_days", "refund_reverts_upgrade")
    }
    accepted = put_ladder(admin, ladder)
    assert accepted.status_code == 200, accepted.text
    stored = admin.get("/api/v1/tiers").json()
    assert (stored["notice_days"], stored["refund_reverts_upgrade"]) == (30, True)
    assert parse_ladder(ladder).notice_days == 30


# --- refunds count in tier facts and growth caps ---------------------------------------------


def test_orders_at_least_does_not_count_fully_refunded_orders(
    admin: Api, member: dict[str, Any]
) -> None:
    # given a ladder where two orders within 7 days make a VIP
    two = {
        "tiers": [
            {"code": "member", "name": "会员"},
            {"code": "vip", "name": "VIP", "qualify": {"orders_at_least": 2, "within_days": 7}},
        ]
    }
    assert put_ladder(admin, {**two, "moves": {"regular": "member"}}).status_code == 200
    no = member["member_no"]
    buy(admin, no, "O-1", "50.00", ago(hours=3))
    refund(admin, "RF-1", "O-1")

    # when a second order comes, the returned one does not count
    assert buy(admin, no, "O-2", "50.00", ago(hours=2))["tier"]["code"] == "member"
    # but a partly returned order still does
    refund(admin, "RF-2", "O-2", amount="10.00")
    assert buy(admin, no, "O-3", "50.00")["tier"] == {
        "level": 1,
        "code": "vip",
        "name": "VIP",
        "upgraded": True,
    }


def test_growth_caps_count_orders_net_of_refunds(admin: Api, member: dict[str, Any]) -> None:
    # given 100 growth a day from spending and 10 a day for placing orders
    rules = {
        "behaviours": {"order": {"growth": 10, "cap": 10, "per": "day"}},
        "spend_cap": {"cap": 100, "per": "day"},
    }
    assert admin.client.put("/api/v1/growth", json=rules, headers=admin.headers).status_code == 200
    no = member["member_no"]
    assert buy(admin, no, "O-1", "100.00", ago(minutes=30))["growth_earned"] == 110

    # when that order is returned, it no longer uses up either cap
    assert refund(admin, "RF-1", "O-1")["growth_reversed"] == 110
    assert buy(admin, no, "O-2", "60.00", ago(minutes=20))["growth_earned"] == 70

    # and a half-returned order uses up half of what it earned: 30 of spend, 5 of orders
    assert refund(admin, "RF-2", "O-2", amount="30.00")["growth_reversed"] == 35
    assert buy(admin, no, "O-3", "100.00", ago(minutes=10))["growth_earned"] == 70 + 5


# --- back-dated orders never move tier dates into the past --------------------------------------


def test_a_back_dated_upgrade_keeps_the_tier_dates_from_moving_back(
    admin: Api, member: dict[str, Any]
) -> None:
    # given twelve-month periods, gold by growth only, and a member silver since an hour ago
    ladder = copy.deepcopy(DEFAULT_LADDER)
    ladder["period"] = "twelve_months"
    ladder["tiers"][2]["qualify"] = {"growth_at_least": 5000}
    assert put_ladder(admin, ladder).status_code == 200
    no = member["member_no"]
    buy(admin, no, "O-1", "1000.00", ago(hours=1))
    silver = tier_of(admin, no)
    assert silver["tier"]["code"] == "silver"

    # when an order dated three days ago (a till catching up) makes them gold
    assert buy(admin, no, "O-2", "4000.00", ago(days=3))["tier"]["code"] == "gold"

    # then gold holds from when silver began, not earlier, and the review did not move back
    gold = tier_of(admin, no)
    assert gold["tier"]["code"] == "gold"
    assert (gold["since"], gold["review_at"]) == (silver["since"], silver["review_at"])
    assert gold["review_at"] == iso(parse_ladder(ladder).period_end(utcnow(), settings.tz))


def test_a_back_dated_first_upgrade_is_reviewed_a_period_after_it_is_made(
    admin: Api, member: dict[str, Any]
) -> None:
    ladder = {**copy.deepcopy(DEFAULT_LADDER), "period": "twelve_months"}
    assert put_ladder(admin, ladder).status_code == 200
    no = member["member_no"]
    three_days_ago = ago(days=3)

    assert buy(admin, no, "O-1", "1000.00", three_days_ago)["tier"]["code"] == "gold"

    gold = tier_of(admin, no)
    assert gold["since"] == iso(datetime.fromisoformat(three_days_ago))
    # twelve months from today, not from three days ago
    assert gold["review_at"] == iso(parse_ladder(ladder).period_end(utcnow(), settings.tz))


def test_an_invitee_who_returned_everything_has_not_bought(
    admin: Api, member: dict[str, Any]
) -> None:
    # given a ladder where two invitees who bought make silver, and two invitees
    ladder = {
        "tiers": [
            {"code": "regular", "name": "普通会员"},
            {"code": "silver", "name": "银卡会员", "qualify": {"invitees_purchased_at_least": 2}},
        ]
    }
    assert put_ladder(admin, ladder).status_code == 200
    referrer = member["member_no"]
    first, second = (
        admin.post(
            "/api/v1/members", {"phone": f"1390013900{n}", "referrer_member_no": referrer}
        ).json()["member_no"]
        for n in range(2)
    )
    # when the first buys and returns everything, and the second buys
    buy(admin, first, "I-1", "50.00", ago(hours=2))
    refund(admin, "RF-1", "I-1")
    buy(admin, second, "I-2", "50.00")

    # then only one invitee has bought: the referrer is not silver
    assert tier_of(admin, referrer)["tier"]["code"] == "regular"


def test_an_invitees_refund_undoes_the_referrers_upgrade_it_caused(
    admin: Api, member: dict[str, Any]
) -> None:
    # given a ladder where one invitee who bought makes silver, and a referrer made silver so
    ladder = {
        "tiers": [
            {"code": "regular", "name": "普通会员"},
            {"code": "silver", "name": "银卡会员", "qualify": {"invitees_purchased_at_least": 1}},
        ]
    }
    assert put_ladder(admin, ladder).status_code == 200
    referrer = member["member_no"]
    invitee = admin.post(
        "/api/v1/members", {"phone": "13900139000", "referrer_member_no": referrer}
    ).json()["member_no"]
    buy(admin, invitee, "I-1", "50.00")
    assert tier_of(admin, referrer)["tier"]["code"] == "silver"

    # when the invitee returns everything
    returned = refund(admin, "RF-1", "I-1")

    # then the invitee's own tier is untouched and the referrer is back to regular
    assert returned["tier"] == {**REGULAR, "reverted": False}
    after = tier_of(admin, referrer)
    assert (after["tier"]["code"], after["review_at"]) == ("regular", None)
    assert moves_of(after["history"]) == [
        ("silver", "regular", "refund"),
        ("regular", "silver", "upgrade"),
    ]
