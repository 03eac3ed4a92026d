"""Refunds of recharges through the API (储值退款): unspent principal paid back within the
program's window, the bonus forfeited in proportion, idempotent, within the store's own."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import time_machine
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from memberkit.cli.main import app
from memberkit.db import Database
from tests.rest import Api, make_key, table_contents
from tests.wallet.test_endpoints import RECHARGE_LADDER, pay, recharge, wallet

AT = "2026-11-22T10:00:00+08:00"  # a day before the tests' clock (2026-11-23 12:00)
LATER = "2026-11-23T11:00:00+08:00"


def refund(admin: Api, member_no: str, recharge_id: str, external_id: str, **given: Any) -> Any:
    body = {"external_id": external_id, "occurred_at": LATER, **given}
    return admin.post(f"/api/v1/members/{member_no}/wallet/recharges/{recharge_id}/refunds", body)


def test_a_refund_pays_back_principal_and_forfeits_the_bonus_in_proportion(
    admin: Api, member: dict[str, Any]
) -> None:
    # given a recharge of ¥500.00 with its ¥50.00 bonus
    no = member["member_no"]
    assert recharge(admin, no, "RC-1", "500.00").status_code == 201

    # when ¥200.00 of it is paid back in cash
    first = refund(admin, no, "RC-1", "WR-1", amount="200.00", method="cash", reason="退卡")

    # then ¥20.00 of the bonus goes with it, and the wallet holds ¥300.00 + ¥30.00
    assert first.status_code == 201, first.text
    assert first.json() == {
        "external_id": "WR-1",
        "recharge_external_id": "RC-1",
        "member_no": no,
        "amount": "200.00",
        "bonus_forfeited": "20.00",
        "method": "cash",
        "occurred_at": LATER,
        "wallet": {"principal": "300.00", "bonus": "30.00", "total": "330.00"},
    }
    # and the rest, without an amount, pays back what is left the way it came in (wechat)
    rest = refund(admin, no, "RC-1", "WR-2")
    assert rest.status_code == 201, rest.text
    assert (rest.json()["amount"], rest.json()["bonus_forfeited"], rest.json()["method"]) == (
        "300.00",
        "30.00",
        "wechat",
    )
    assert wallet(admin, no)["wallet"] == {"principal": "0.00", "bonus": "0.00", "total": "0.00"}
    assert wallet(admin, no)["refunded"] == "500.00"
    listed = admin.get(f"/api/v1/members/{no}/wallet/recharges").json()
    assert [
        (r["amount"], r["refunded"], r["bonus_forfeited"], r["refundable"]) for r in listed
    ] == [("500.00", "500.00", "50.00", "0.00")]
    # and nothing more is refundable
    none_left = refund(admin, no, "RC-1", "WR-3")
    assert (none_left.status_code, none_left.json()["code"]) == (
        409,
        "recharge_nothing_refundable",
    )
    assert CliRunner().invoke(app, ["ledger", "check"]).exit_code == 0


def test_refunds_in_pieces_forfeit_what_one_refund_would(
    admin: Api, member: dict[str, Any]
) -> None:
    # given ¥1,000.00 recharged with ¥150.00 bonus, refunded ¥333.33 at a time
    no = member["member_no"]
    recharge(admin, no, "RC-1", "1000.00")
    forfeited = [
        refund(admin, no, "RC-1", f"WR-{n}", amount=amount).json()["bonus_forfeited"]
        for n, amount in enumerate(["333.33", "333.33", "333.34"])
    ]
    # then the bonus forfeited sums to the whole ¥150.00, rounded on the running total
    assert forfeited == ["49.99", "50.00", "50.01"]


def test_a_spent_wallet_refunds_at_most_the_principal_it_holds(
    admin: Api, member: dict[str, Any]
) -> None:
    # given ¥1,000.00 + ¥150.00, of which ¥230.00 was spent (¥200.00 principal, ¥30.00 bonus)
    no = member["member_no"]
    recharge(admin, no, "RC-1", "1000.00")
    assert pay(admin, no, "ORD-1", "230.00").status_code == 201
    assert wallet(admin, no)["wallet"]["principal"] == "800.00"
    before = admin.get(f"/api/v1/members/{no}/wallet/recharges").json()
    assert before[0]["refundable"] == "800.00"

    # when more than that is asked, it is refused, and it says how much may be refunded
    too_much = refund(admin, no, "RC-1", "WR-1", amount="800.01")
    assert too_much.status_code == 409
    assert too_much.json()["code"] == "recharge_refund_exceeds"
    assert too_much.json()["detail"] == "充值 RC-1 最多可退 ¥800.00，不能退 ¥800.01。"
    # and the ¥800.00 it holds is paid back with ¥120.00 of the bonus (all the ¥120.00 left)
    whole = refund(admin, no, "RC-1", "WR-2").json()
    assert (whole["amount"], whole["bonus_forfeited"], whole["wallet"]["total"]) == (
        "800.00",
        "120.00",
        "0.00",
    )


def test_a_refund_is_idempotent_and_its_id_is_its_own(admin: Api, member: dict[str, Any]) -> None:
    no = member["member_no"]
    recharge(admin, no, "RC-1", "500.00")
    recharge(admin, no, "RC-2", "500.00")
    first = refund(admin, no, "RC-1", "WR-1", amount="100.00")
    assert first.status_code == 201
    # the same refund again: the first answer, nothing more paid back
    again = refund(admin, no, "RC-1", "WR-1", amount="100.00")
    assert (again.status_code, again.json()) == (200, first.json())
    # the same id for another amount, or for another recharge: a conflict
    for other in (
        refund(admin, no, "RC-1", "WR-1", amount="50.00"),
        refund(admin, no, "RC-2", "WR-1", amount="100.00"),
    ):
        assert (other.status_code, other.json()["code"]) == (409, "idempotency_conflict")
    assert wallet(admin, no)["refunded"] == "100.00"


def test_the_window_closes_after_the_programs_refund_days_unless_it_stopped_serving(
    admin: Api,
    member: dict[str, Any],
    database: Database,
    clock: time_machine.Coordinates,
) -> None:
    # given a recharge, and the clock eight days on (the window is seven)
    no = member["member_no"]
    recharge(admin, no, "RC-1", "500.00")
    clock.move_to(datetime.fromisoformat("2026-11-30T12:00:00+08:00"))
    before = table_contents(database)

    # when it is refunded, it is refused and nothing changes, also dated back into the window
    for dated in ("2026-11-30T11:00:00+08:00", "2026-11-28T11:00:00+08:00"):
        closed = refund(admin, no, "RC-1", "WR-1", occurred_at=dated)
        assert (closed.status_code, closed.json()["code"]) == (409, "recharge_refund_closed")
    assert closed.json()["detail"] == (
        "2026-11-22 的充值 RC-1 已不能退款：本计划仅在充值后 7 天内可退款。"
    )
    assert table_contents(database) == before

    # then once the program has stopped serving, every recharge is refundable
    rules = admin.get("/api/v1/wallet/rules").json()
    put = admin.client.put(
        "/api/v1/wallet/rules", json={**rules, "stopped_serving": True}, headers=admin.headers
    )
    assert put.status_code == 200, put.text
    done = refund(admin, no, "RC-1", "WR-1", occurred_at="2026-11-30T11:00:00+08:00")
    assert (done.status_code, done.json()["amount"]) == (201, "500.00")
    # and it takes no more prepaid money
    before = table_contents(database)
    more = recharge(admin, no, "RC-2", "100.00", occurred_at="2026-11-30T11:00:00+08:00")
    assert (more.status_code, more.json()["code"]) == (409, "wallet_stopped_serving")
    assert table_contents(database) == before


def test_refusals_change_nothing_and_speak_the_callers_language(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    no = member["member_no"]
    recharge(admin, no, "RC-1", "500.00")
    before = table_contents(database)
    for asked, status, code in (
        (("NOPE", {}), 404, "recharge_not_found"),
        (("RC-1", {"amount": "0.00"}), 422, "invalid_recharge"),
        (("RC-1", {"amount": "-1.00"}), 422, "validation_error"),
        (("RC-1", {"method": "points"}), 422, "validation_error"),
        (("RC-1", {"occurred_at": "2026-11-21T10:00:00+08:00"}), 422, "invalid_recharge"),
        (("RC-1", {"amount": "500.01"}), 409, "recharge_refund_exceeds"),
        (("RC-1", {"reason": "x" * 201}), 422, "validation_error"),
    ):
        recharge_id, given = asked
        refused = refund(admin, no, recharge_id, "WR-1", **given)
        assert (refused.status_code, refused.json()["code"]) == (status, code), refused.text
    assert table_contents(database) == before
    path = f"/api/v1/members/{no}/wallet/recharges/NOPE/refunds"
    body = {"external_id": "WR-1", "occurred_at": LATER}
    zh = admin.client.post(path, json=body, headers=admin.headers)
    assert zh.json()["detail"] == f"会员 {no} 没有外部编号为 NOPE 的充值。"
    en = admin.client.post(path, json=body, headers={**admin.headers, "Accept-Language": "en"})
    assert en.json()["detail"] == f"Member {no} has no recharge with external id NOPE."


def test_a_store_bound_key_refunds_only_recharges_taken_at_its_store(
    admin: Api, member: dict[str, Any], client: TestClient, database: Database
) -> None:
    # given a recharge at SH001, one at BJ001 and one online
    no = member["member_no"]
    admin.post("/api/v1/stores", {"code": "BJ001", "name": "北京店", "type": "direct"})
    recharge(admin, no, "RC-SH", "500.00", store_code="SH001")
    recharge(admin, no, "RC-BJ", "500.00", store_code="BJ001")
    recharge(admin, no, "RC-WEB", "500.00")
    pos = Api(client, make_key(database, "pos", store="SH001"))
    before = table_contents(database)
    # then SH001's key refunds neither the other store's nor the online one
    for recharge_id in ("RC-BJ", "RC-WEB"):
        refused = refund(pos, no, recharge_id, f"WR-{recharge_id}")
        assert (refused.status_code, refused.json()["code"]) == (403, "store_mismatch")
    named = refund(pos, no, "RC-SH", "WR-X", store_code="BJ001")
    assert (named.status_code, named.json()["code"]) == (403, "store_mismatch")
    assert table_contents(database) == before
    # but its own store's
    assert refund(pos, no, "RC-SH", "WR-SH").status_code == 201


def test_a_store_an_unbound_key_names_must_be_the_recharges(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    # given a recharge at SH001
    no = member["member_no"]
    admin.post("/api/v1/stores", {"code": "BJ001", "name": "北京店", "type": "direct"})
    recharge(admin, no, "RC-SH", "500.00", store_code="SH001")
    before = table_contents(database)

    # when a chain-wide key pays it back naming another store, it is refused, changing nothing
    named = refund(admin, no, "RC-SH", "WR-BJ", store_code="BJ001")
    assert (named.status_code, named.json()["code"]) == (403, "store_mismatch")
    assert table_contents(database) == before

    # and naming the recharge's own store, or none, it is paid back
    assert (
        refund(admin, no, "RC-SH", "WR-SH", store_code="SH001", amount="100.00").status_code == 201
    )
    assert refund(admin, no, "RC-SH", "WR-ANY", amount="100.00").status_code == 201


def test_wallet_rules_refuse_a_bad_refund_window(admin: Api) -> None:
    rules = admin.get("/api/v1/wallet/rules").json()
    for bad in (
        {"refund_days": -1},
        {"refund_days": 4000},
        {"refund_days": True},
        {"refund_days": 7.0},
        {"stopped_serving": "yes"},
    ):
        put = admin.client.put("/api/v1/wallet/rules", json={**rules, **bad}, headers=admin.headers)
        assert put.status_code == 422, (bad, put.text)


def test_money_refunded_does_not_count_for_a_tier_condition_on_recharges(
    admin: Api, member: dict[str, Any]
) -> None:
    # given silver at ¥1,000.00 recharged in a year, and ¥600.00 recharged then paid back
    put = admin.client.put("/api/v1/tiers", json=RECHARGE_LADDER, headers=admin.headers)
    assert put.is_success
    no = member["member_no"]
    recharge(admin, no, "RC-1", "600.00")
    assert refund(admin, no, "RC-1", "WR-1").status_code == 201
    # when ¥400.00 more is recharged, the member is not silver: only ¥400.00 stayed in
    crossing = recharge(admin, no, "RC-2", "400.00").json()["tier"]
    assert (crossing["code"], crossing["upgraded"]) == ("regular", False)
