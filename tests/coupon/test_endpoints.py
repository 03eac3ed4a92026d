"""Coupons through the API: templates, issuing by hand, revoking, a member's coupons, bulk
batches run in the background, partner codes, the report."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from memberkit.audit.models import AuditEntry
from memberkit.coupon.models import CouponBatch
from memberkit.db import Database
from memberkit.kit.time import iso, utcnow
from tests.rest import Api, make_key, order_body, table_contents

CASH = {"code": "cash10", "name": "代金券10元", "kind": "cash", "off": "10.00", "valid_days": 30}


def define(admin: Api, **changes: Any) -> Any:
    response = admin.post("/api/v1/coupon-templates", {**CASH, **changes})
    assert response.status_code == 201, response.text
    return response.json()


def issue(admin: Api, member_no: str, external_id: str = "H-1", code: str = "cash10") -> Any:
    return admin.post(
        f"/api/v1/coupon-templates/{code}/issues",
        {"member_no": member_no, "external_id": external_id, "reason": "客诉补偿"},
    )


def test_a_template_is_defined_once_and_shown_as_given(admin: Api) -> None:
    made = define(
        admin,
        code="full100",
        kind="amount_off",
        off="20.00",
        threshold="100.00",
        valid_days=None,
        valid_from="2026-12-01",
        valid_until="2026-12-31",
        scope={"categories": ["coffee"], "exclude_skus": ["A9"]},
        per_member_limit=2,
        budget_count=100,
    )
    assert {k: made[k] for k in ("kind", "off", "threshold", "valid_from", "valid_until")} == {
        "kind": "amount_off",
        "off": "20.00",
        "threshold": "100.00",
        "valid_from": "2026-12-01",
        "valid_until": "2026-12-31",
    }
    assert made["scope"]["categories"] == ["coffee"] and made["issued"] == 0
    assert admin.post("/api/v1/coupon-templates", CASH).status_code == 201
    repeat = admin.post(
        "/api/v1/coupon-templates",
        {
            **CASH,
            "code": "full100",
            "kind": "amount_off",
            "off": "20.00",
            "threshold": "100.00",
            "valid_days": None,
            "valid_from": "2026-12-01",
            "valid_until": "2026-12-31",
            "scope": {"categories": ["coffee"], "exclude_skus": ["A9"]},
            "per_member_limit": 2,
            "budget_count": 100,
        },
    )
    assert repeat.status_code == 200
    listed = admin.get("/api/v1/coupon-templates").json()
    assert [t["code"] for t in listed] == ["cash10", "full100"]


def test_bad_terms_are_a_422_in_both_languages_and_change_nothing(
    admin: Api, database: Database
) -> None:
    before = table_contents(database)
    bad = {**CASH, "kind": "percent_off", "off": "0", "percent_bp": 0}
    zh = admin.post("/api/v1/coupon-templates", bad)
    en = admin.post("/api/v1/coupon-templates", bad, **{"Accept-Language": "en"})
    assert (zh.status_code, zh.json()["code"]) == (422, "invalid_coupon_template")
    assert (en.status_code, en.json()["code"]) == (422, "invalid_coupon_template")
    assert "basis points" in en.json()["detail"]
    assert zh.json()["detail"] != en.json()["detail"]
    assert table_contents(database) == before


def test_a_free_shipping_template_is_refused_while_orders_carry_no_shipping_fee(
    admin: Api, database: Database
) -> None:
    before = table_contents(database)
    refused = admin.post(
        "/api/v1/coupon-templates",
        {**CASH, "kind": "free_shipping", "off": "0"},
        **{"Accept-Language": "en"},
    )
    assert (refused.status_code, refused.json()["code"]) == (422, "invalid_coupon_template")
    assert "orders carry no shipping fee" in refused.json()["detail"]
    assert table_contents(database) == before


def test_issuing_by_hand_is_idempotent_audited_and_listed_for_the_member(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    define(admin)
    no = member["member_no"]
    first = issue(admin, no)
    again = issue(admin, no)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["code"] == again.json()["code"]
    assert first.json()["state"] == "available" and first.json()["created"] is True
    mine = admin.get(f"/api/v1/members/{no}/coupons").json()
    assert [(c["code"], c["template"], c["state"], c["source"]) for c in mine] == [
        (first.json()["code"], "cash10", "available", "hand")
    ]
    assert admin.get(f"/api/v1/members/{no}/coupons", state="used").json() == []
    assert admin.get("/api/v1/coupon-templates/cash10").json()["issued"] == 1
    with database.session_scope(read_only=True) as session:
        actions = session.scalars(select(AuditEntry.action)).all()
    assert actions == ["coupon.issue"]


def test_refusals_are_409s_with_stable_codes_and_change_nothing(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    define(admin, budget_count=1)
    define(admin, code="once", per_member_limit=1)
    define(admin, code="off", active=False)
    no = member["member_no"]
    assert issue(admin, no, "A").status_code == 201
    assert issue(admin, no, "B", code="once").status_code == 201
    before = table_contents(database)
    for response, code in (
        (issue(admin, no, "C"), "coupon_budget_spent"),
        (issue(admin, no, "D", code="once"), "coupon_member_limit"),
        (issue(admin, no, "E", code="off"), "coupon_template_inactive"),
    ):
        assert (response.status_code, response.json()["code"]) == (409, code)
    assert table_contents(database) == before


def test_a_change_of_terms_after_issue_is_a_409_but_the_name_may_change(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    define(admin)
    assert issue(admin, member["member_no"]).status_code == 201
    before = table_contents(database)
    refused = admin.patch("/api/v1/coupon-templates/cash10", {"off": "50.00"})
    assert (refused.status_code, refused.json()["code"]) == (409, "coupon_template_issued")
    assert table_contents(database) == before
    renamed = admin.patch("/api/v1/coupon-templates/cash10", {"name": "十元券", "active": False})
    assert (renamed.status_code, renamed.json()["name"], renamed.json()["active"]) == (
        200,
        "十元券",
        False,
    )


def test_revoking_is_once_and_the_member_sees_it(admin: Api, member: dict[str, Any]) -> None:
    define(admin)
    no = member["member_no"]
    code = issue(admin, no).json()["code"]
    first = admin.post(f"/api/v1/coupons/{code}/revoke", {"reason": "错发"})
    again = admin.post(f"/api/v1/coupons/{code}/revoke", {"reason": "错发"})
    assert (first.status_code, again.status_code) == (201, 200)
    mine = admin.get(f"/api/v1/members/{no}/coupons", state="revoked").json()
    assert [(c["code"], c["revoke_reason"]) for c in mine] == [(code, "错发")]
    missing = admin.post("/api/v1/coupons/NOPE/revoke", {"reason": "x"})
    assert (missing.status_code, missing.json()["code"]) == (404, "coupon_not_found")


def wait_for(admin: Api, batch_id: int) -> Any:
    for _attempt in range(100):
        shown = admin.get(f"/api/v1/coupon-batches/{batch_id}").json()
        if shown["state"] in ("done", "failed"):
            return shown
        time.sleep(0.05)
    raise AssertionError(f"batch {batch_id} did not finish: {shown}")


def test_a_bulk_issue_to_a_filter_runs_in_the_background_once(
    admin: Api, member: dict[str, Any]
) -> None:
    define(admin)
    admin.post("/api/v1/members", {"phone": "13800138001", "store_code": "SH001"})
    admin.post("/api/v1/members", {"phone": "13800138002"})
    body = {"template": "cash10", "external_id": "BULK-1", "filter": {"store_code": "SH001"}}
    started = admin.post("/api/v1/coupon-batches", body)
    assert started.status_code == 201, started.text
    done = wait_for(admin, started.json()["id"])
    assert {k: done[k] for k in ("total", "done", "issued", "skipped", "failed")} == {
        "total": 2,
        "done": 2,
        "issued": 2,
        "skipped": 0,
        "failed": 0,
    }
    replay = admin.post("/api/v1/coupon-batches", body)
    assert (replay.status_code, replay.json()["issued"]) == (200, 2)
    assert admin.get("/api/v1/coupon-templates/cash10").json()["issued"] == 2
    neither = admin.post("/api/v1/coupon-batches", {"template": "cash10", "external_id": "X"})
    assert neither.status_code == 422


def test_a_bulk_issue_to_a_list_reports_unknown_rows(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    define(admin)
    body = {
        "template": "cash10",
        "external_id": "LIST-1",
        "members": [member["member_no"], "13800138000", "13900000000"],
    }
    started = admin.post("/api/v1/coupon-batches", body)
    done = wait_for(admin, started.json()["id"])
    assert (done["issued"], done["skipped"], done["failed"]) == (1, 1, 1)
    assert [(p["identifier"], p["code"]) for p in done["problems"]] == [
        ("138****8000", "duplicate_row"),
        ("139****0000", "member_not_found"),
    ]
    # the list is kept as its digest: no phone number is stored in clear
    with database.session_scope(read_only=True) as session:
        spec = session.scalars(select(CouponBatch.spec)).one()
    assert "13800138000" not in str(spec) and spec["rows"] == 3


def test_partner_codes_are_imported_with_duplicates_reported(
    admin: Api, member: dict[str, Any]
) -> None:
    define(admin)
    rows = [{"code": "JD-0001"}, {"code": "JD-0002", "member_no": member["member_no"]}]
    first = admin.post("/api/v1/coupon-templates/cash10/imports", {"rows": rows})
    assert first.json() == {"imported": 2, "refused": []}
    again = admin.post(
        "/api/v1/coupon-templates/cash10/imports", {"rows": [*rows, {"code": "JD-0003"}]}
    )
    assert again.json()["imported"] == 1
    assert [(r["row"], r["code"]) for r in again.json()["refused"]] == [
        (1, "coupon_code_taken"),
        (2, "coupon_code_taken"),
    ]
    mine = admin.get(f"/api/v1/members/{member['member_no']}/coupons").json()
    assert [(c["code"], c["source"]) for c in mine] == [("JD-0002", "imported")]


def test_a_partner_code_that_reads_as_anothers_coupon_is_refused(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    # given a coupon issued with a generated code
    define(admin)
    taken = issue(admin, member["member_no"]).json()["code"]
    before = table_contents(database)

    # when a partner's file holds that code in lower case, with dashes
    spelled = f"{taken[:5]}-{taken[5:]}".lower()
    imported = admin.post("/api/v1/coupon-templates/cash10/imports", {"rows": [{"code": spelled}]})

    # then the row is refused as taken (a till would read it as the other coupon)
    assert imported.json() == {
        "imported": 0,
        "refused": [imported.json()["refused"][0] | {"row": 1, "code": "coupon_code_taken"}],
    }
    assert table_contents(database) == before


def test_the_report_counts_each_templates_coupons(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    define(admin)
    no = member["member_no"]
    code = issue(admin, no, "A").json()["code"]
    issue(admin, no, "B")
    admin.post(f"/api/v1/coupons/{code}/revoke", {"reason": "x"})
    report = admin.get("/api/v1/coupon-report").json()
    assert report == [
        {
            "template": "cash10",
            "name": "代金券10元",
            "kind": "cash",
            "issued": 2,
            "redeemed": 0,
            "expired": 0,
            "outstanding": 1,
            "revoked": 1,
            "discount_given": "0.00",
            "orders": 0,
            "sales": "0.00",
        }
    ]
    bound = Api(admin.client, make_key(database, "read", "SH001"))
    assert bound.get("/api/v1/coupon-report").status_code == 403


def test_reading_keys_may_not_define_or_issue(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    reader = Api(admin.client, make_key(database, "read"))
    assert reader.post("/api/v1/coupon-templates", CASH).status_code == 403
    define(admin)
    assert issue(reader, member["member_no"]).status_code == 403


@pytest.mark.parametrize(
    "field", ["name", "description", "off", "threshold", "min_spend", "active", "on_birthday"]
)
def test_a_patch_clearing_a_field_that_cannot_be_empty_is_a_422_naming_it(
    admin: Api, database: Database, field: str
) -> None:
    define(admin)
    before = table_contents(database)
    refused = admin.patch(
        "/api/v1/coupon-templates/cash10", {field: None}, **{"Accept-Language": "en"}
    )
    assert (refused.status_code, refused.json()["code"]) == (422, "validation_error")
    assert refused.json()["errors"][0]["field"] == field
    assert "cannot be null" in refused.json()["errors"][0]["message"]
    assert table_contents(database) == before


def test_a_coupon_issued_today_is_good_for_an_order_rung_up_just_before(
    admin: Api, member: dict[str, Any]
) -> None:
    # given a coupon issued now (the tests' clock), valid from the day of issue
    define(admin)
    issued = issue(admin, member["member_no"])
    assert issued.status_code == 201, issued.text
    assert issued.json()["valid_from"].endswith("T00:00:00+08:00")

    # when a till whose clock runs a minute behind rings up an order with it, in whole seconds
    body = order_body(
        member["member_no"],
        "O-EARLY",
        occurred_at=iso(utcnow().replace(microsecond=0) - timedelta(minutes=1)),
        payments=[{"method": "wechat", "amount": "50.00"}],
        coupons=[issued.json()["code"]],
    )
    posted = admin.post("/api/v1/orders", body)

    # then the coupon takes its ¥10.00 off
    assert posted.status_code == 201, posted.text
    assert posted.json()["coupon_discount"] == "10.00"


def test_a_bulk_issue_through_the_api_takes_more_than_a_thousand_rows(
    admin: Api, member: dict[str, Any]
) -> None:
    # given a list of 1,500 identifiers (the member once, and numbers of nobody)
    define(admin)
    members = [member["member_no"], *(f"139{n:08}" for n in range(1499))]

    # when it is sent as a bulk issue
    started = admin.post(
        "/api/v1/coupon-batches",
        {"template": "cash10", "external_id": "B-WIDE", "members": members},
    )

    # then it is taken (each row is judged by the batch, not refused by a list bound)
    assert started.status_code == 201, started.text
    assert started.json()["total"] == 1500
