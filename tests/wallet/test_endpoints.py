"""Stored value through the API: recharges with bonus, paying with the wallet, refunds back."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from memberkit.cli.main import app
from memberkit.db import Database
from memberkit.wallet.rules import DEFAULT_WALLET_RULES
from tests.rest import Api, make_key, order_body, table_contents

AT = "2026-11-22T10:00:00+08:00"  # a Sunday: no member-day multiplier
#: Silver for ¥1,000.00 recharged within a year.
RECHARGE_LADDER = {
    "tiers": [
        {"code": "regular", "name": "普通会员"},
        {
            "code": "silver",
            "name": "银卡会员",
            "qualify": {"recharged_at_least": "1000.00", "within_days": 365},
        },
    ]
}


def recharge(admin: Api, member_no: str, external_id: str, amount: str, **extra: Any) -> Any:
    body = {"external_id": external_id, "amount": amount, "method": "wechat", "occurred_at": AT}
    return admin.post(f"/api/v1/members/{member_no}/wallet/recharges", {**body, **extra})


def pay(admin: Api, member_no: str, external_id: str, amount: str, **headers: str) -> Any:
    body = order_body(
        member_no,
        external_id,
        lines=[{"sku": "M1", "quantity": 1, "unit_price": amount, "amount": amount}],
        payments=[{"method": "wallet", "amount": amount}],
    )
    return admin.post("/api/v1/orders", body, **headers)


def wallet(admin: Api, member_no: str) -> dict[str, Any]:
    response = admin.get(f"/api/v1/members/{member_no}/wallet")
    assert response.status_code == 200, response.text
    return response.json()


def test_a_recharge_adds_principal_and_the_bonus_and_is_idempotent(
    admin: Api, member: dict[str, Any]
) -> None:
    no = member["member_no"]
    first = recharge(admin, no, "RC-1", "500.00")
    assert first.status_code == 201, first.text
    assert first.json() == {
        "external_id": "RC-1",
        "member_no": no,
        "amount": "500.00",
        "bonus": "50.00",  # 充500送50
        "occurred_at": AT,
        "wallet": {"principal": "500.00", "bonus": "50.00", "total": "550.00"},
        "tier": {"level": 0, "code": "regular", "name": "普通会员", "upgraded": False},
    }
    again = recharge(admin, no, "RC-1", "500.00")
    assert (again.status_code, again.json()) == (200, first.json())
    other = recharge(admin, no, "RC-1", "800.00")
    assert (other.status_code, other.json()["code"]) == (409, "idempotency_conflict")

    assert wallet(admin, no) == {
        "member_no": no,
        "wallet": {"principal": "500.00", "bonus": "50.00", "total": "550.00"},
        "recharged": "500.00",
        "bonus_received": "50.00",
        "recharges": 1,
        "refunded": "0.00",
    }
    assert admin.get(f"/api/v1/members/{no}").json()["wallet_balance"] == "550.00"


def test_paying_with_the_wallet_splits_principal_and_bonus_and_refunds_return_them(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    no = member["member_no"]
    assert recharge(admin, no, "RC-1", "500.00").status_code == 201  # 500 + 50 bonus

    paid = pay(admin, no, "O-1", "110.00")
    assert paid.status_code == 201, paid.text
    body = paid.json()
    assert (body["wallet_principal_paid"], body["wallet_bonus_paid"]) == ("100.00", "10.00")
    assert (body["eligible_amount"], body["points_earned"]) == ("100.00", 100)  # bonus earns none
    assert wallet(admin, no)["wallet"] == {
        "principal": "400.00",
        "bonus": "40.00",
        "total": "440.00",
    }

    half = admin.post(
        "/api/v1/refunds", {"external_id": "RF-1", "order_external_id": "O-1", "amount": "55.00"}
    )
    assert half.status_code == 201, half.text
    returned = (half.json()["wallet_principal_returned"], half.json()["wallet_bonus_returned"])
    assert returned == ("50.00", "5.00")
    rest = admin.post("/api/v1/refunds", {"external_id": "RF-2", "order_external_id": "O-1"})
    assert rest.status_code == 201, rest.text
    assert wallet(admin, no)["wallet"] == {
        "principal": "500.00",
        "bonus": "50.00",
        "total": "550.00",
    }
    statement = admin.get(f"/api/v1/members/{no}/ledger", asset="wallet_bonus").json()["items"]
    assert [(i["kind"], i["amount"], i["balance_after"]) for i in statement] == [
        ("refund", 500, 5_000),
        ("refund", 500, 4_500),
        ("redeem", -1_000, 4_000),
        ("recharge", 5_000, 5_000),
    ]
    check = CliRunner().invoke(app, ["ledger", "check"])
    assert check.exit_code == 0, check.output


def test_too_little_stored_value_refuses_the_whole_order(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    no = member["member_no"]
    assert recharge(admin, no, "RC-1", "100.00").status_code == 201  # no bonus below 500
    empty = admin.post("/api/v1/members", {"phone": "13900139000"}).json()["member_no"]
    before = table_contents(database)

    refused = pay(admin, no, "O-1", "100.01", **{"Accept-Language": "en"})
    assert (refused.status_code, refused.json()["code"]) == (409, "insufficient_wallet")
    assert refused.json()["detail"] == "Not enough stored value: ¥100.01 needed, ¥100.00 available."
    in_chinese = pay(admin, no, "O-2", "100.01")
    assert in_chinese.json()["detail"] == "储值余额不足：需要 ¥100.01，可用 ¥100.00。"
    assert pay(admin, empty, "O-3", "1.00").json()["code"] == "insufficient_wallet"
    assert table_contents(database) == before
    assert pay(admin, no, "O-4", "100.00").status_code == 201  # exactly all of it


def test_a_recharge_past_the_wallet_limit_is_refused(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    no = member["member_no"]
    assert recharge(admin, no, "RC-1", "4000.00").status_code == 201  # + 150.00 bonus
    before = table_contents(database)
    refused = admin.post(
        f"/api/v1/members/{no}/wallet/recharges",
        {"external_id": "RC-2", "amount": "900.00", "method": "cash", "occurred_at": AT},
        **{"Accept-Language": "en"},
    )
    assert (refused.status_code, refused.json()["code"]) == (409, "wallet_limit_exceeded")
    # ¥850.00 of room, but a recharge of 850.00 gets a 50.00 bonus: 800.00 is the most that fits
    assert refused.json()["detail"] == (
        "This recharge would take the wallet to ¥5,100.00, over the limit of ¥5,000.00. "
        "The largest recharge accepted now is ¥800.00 (with its bonus of ¥50.00)."
    )
    in_chinese = recharge(admin, no, "RC-2", "900.00", method="cash")
    assert in_chinese.json()["detail"] == (
        "本次充值后储值将达 ¥5,100.00，超过上限 ¥5,000.00。当前最多可充值 ¥800.00（赠送 ¥50.00）。"
    )
    assert recharge(admin, no, "RC-3", "800.01").json()["code"] == "wallet_limit_exceeded"
    assert table_contents(database) == before
    assert recharge(admin, no, "RC-4", "800.00").status_code == 201  # exactly the limit
    assert wallet(admin, no)["wallet"]["total"] == "5000.00"

    full = admin.post(
        f"/api/v1/members/{no}/wallet/recharges",
        {"external_id": "RC-5", "amount": "0.01", "method": "cash", "occurred_at": AT},
        **{"Accept-Language": "en"},
    )
    assert (full.status_code, full.json()["detail"]) == (
        409,
        "This recharge would take the wallet to ¥5,000.01, over the limit of ¥5,000.00. "
        "The wallet is full: no recharge is accepted now.",
    )


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"amount": "0.00"}, "invalid_recharge"),
        ({"amount": 100.5}, "validation_error"),
        ({"amount": "-5.00"}, "validation_error"),
        ({"method": "points"}, "validation_error"),
        ({"method": "wallet"}, "validation_error"),
        ({"occurred_at": "2999-01-01T00:00:00+08:00"}, "occurred_at_in_future"),
        ({"occurred_at": "2026-10-01T00:00:00+08:00"}, "occurred_at_too_old"),
        ({"store_code": "NOPE"}, "store_not_found"),
        ({"surprise": 1}, "validation_error"),
    ],
)
def test_bad_recharges_are_refused_and_change_nothing(
    admin: Api, member: dict[str, Any], database: Database, change: dict[str, Any], code: str
) -> None:
    before = table_contents(database)
    body = {"external_id": "RC-1", "amount": "500.00", "method": "wechat", "occurred_at": AT}
    refused = admin.post(
        f"/api/v1/members/{member['member_no']}/wallet/recharges", {**body, **change}
    )
    assert 400 <= refused.status_code < 500
    assert refused.json()["code"] == code, refused.text
    assert table_contents(database) == before


def test_frozen_members_and_other_stores_keys_cannot_recharge(
    admin: Api, member: dict[str, Any], client: TestClient, database: Database
) -> None:
    no = member["member_no"]
    pos = Api(client, make_key(database, "pos", store="SH001"))
    other = recharge(pos, no, "RC-1", "500.00", store_code="BJ001")
    assert other.json()["code"] == "store_mismatch"
    assert recharge(pos, no, "RC-2", "500.00").status_code == 201  # the key's own store
    assert admin.patch(f"/api/v1/members/{no}", {"status": "frozen"}).status_code == 200
    frozen = recharge(admin, no, "RC-3", "500.00")
    assert (frozen.status_code, frozen.json()["code"]) == (409, "member_inactive")
    missing = recharge(admin, "000000000000", "RC-4", "500.00")
    assert missing.status_code == 404


def test_wallet_rules_are_read_and_replaced_only_when_valid(admin: Api, database: Database) -> None:
    assert admin.get("/api/v1/wallet/rules").json() == DEFAULT_WALLET_RULES
    before = table_contents(database)
    bad = {"bonuses": [{"at_least": "500.00", "bonus": "600.00"}], "max_balance": "5000.00"}
    refused = admin.client.put("/api/v1/wallet/rules", json=bad, headers=admin.headers)
    assert (refused.status_code, refused.json()["code"]) == (422, "invalid_program_settings")
    assert table_contents(database) == before
    good = {"bonuses": [{"at_least": "200.00", "bonus": "20.00"}], "max_balance": "10000.00"}
    accepted = admin.client.put("/api/v1/wallet/rules", json=good, headers=admin.headers)
    # the answer is the rules as stored: the refund window left out takes its default
    assert (accepted.status_code, accepted.json()) == (
        200,
        {**good, "refund_days": 7, "stopped_serving": False},
    )


def test_a_recharge_meeting_a_tier_condition_upgrades_at_once(
    admin: Api, member: dict[str, Any]
) -> None:
    accepted = admin.client.put("/api/v1/tiers", json=RECHARGE_LADDER, headers=admin.headers)
    assert accepted.status_code == 200, accepted.text
    no = member["member_no"]
    small = recharge(admin, no, "RC-1", "600.00").json()["tier"]
    assert (small["code"], small["upgraded"]) == ("regular", False)
    crossing = recharge(admin, no, "RC-2", "400.00").json()["tier"]
    assert (crossing["code"], crossing["upgraded"]) == ("silver", True)
    history = admin.get(f"/api/v1/members/{no}/tier").json()["history"]
    assert [(h["from_tier"], h["to_tier"], h["reason"]) for h in history] == [
        ("regular", "silver", "upgrade")
    ]

    bad = {**RECHARGE_LADDER}
    bad["tiers"] = [
        RECHARGE_LADDER["tiers"][0],
        {"code": "silver", "name": "银卡会员", "qualify": {"recharged_at_least": "1000.00"}},
    ]
    refused = admin.client.put("/api/v1/tiers", json=bad, headers=admin.headers)
    assert (refused.status_code, refused.json()["code"]) == (422, "invalid_program_settings")


def test_the_same_recharge_id_for_another_member_is_a_conflict(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    other = admin.post("/api/v1/members", {"phone": "13900139000"}).json()["member_no"]
    assert recharge(admin, member["member_no"], "RC-1", "500.00").status_code == 201
    before = table_contents(database)
    again = recharge(admin, other, "RC-1", "500.00")
    assert (again.status_code, again.json()["code"]) == (409, "idempotency_conflict")
    assert table_contents(database) == before
    assert wallet(admin, other)["wallet"]["total"] == "0.00"


def test_a_long_recharge_id_that_upgrades_the_referrer_fits_every_key(
    admin: Api, member: dict[str, Any]
) -> None:
    ladder = {
        "tiers": [
            {"code": "regular", "name": "普通会员"},
            {
                "code": "silver",
                "name": "银卡会员",
                "qualify": {"recharged_at_least": "100.00", "within_days": 30},
            },
            {
                "code": "gold",
                "name": "金卡会员",
                "qualify": {"invitees_reached_at_least": 1, "tier": "silver"},
            },
        ]
    }
    assert admin.client.put("/api/v1/tiers", json=ladder, headers=admin.headers).status_code == 200
    invitee = admin.post(
        "/api/v1/members", {"phone": "13900139000", "referrer_member_no": member["member_no"]}
    )
    assert invitee.status_code == 201, invitee.text
    long_id = "X" * 100
    upgraded = recharge(admin, invitee.json()["member_no"], long_id, "100.00")
    assert upgraded.status_code == 201, upgraded.text
    assert upgraded.json()["tier"]["code"] == "silver"
    referrer = admin.get(f"/api/v1/members/{member['member_no']}/tier").json()
    assert referrer["tier"]["code"] == "gold"
