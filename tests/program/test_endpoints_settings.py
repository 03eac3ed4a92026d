"""One generic settings API over every domain's section, and the older endpoints as aliases."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from memberkit.analytics.rules import DEFAULT_ANALYTICS
from memberkit.db import Database
from memberkit.growth.rules import DEFAULT_GROWTH_RULES
from memberkit.program.policies import DEFAULT_POLICIES
from memberkit.sections import BY_NAME
from memberkit.tier.rules import DEFAULT_LADDER
from memberkit.wallet.rules import DEFAULT_WALLET_RULES
from tests.api.test_concurrent_requests import run_behind_a_lock
from tests.api.test_fuzz import json_values
from tests.rest import Api, make_key, order_body, table_contents

NAMES = [
    "earning",
    "validity",
    "ladder",
    "growth",
    "wallet",
    "benefits",
    "policies",
    "calendar",
    "analytics",
    "history",
]
#: The earning section of a program that never set it: every field, in its canonical form.
EARNING_DEFAULTS = {
    "points_per_unit": "1",
    "growth_per_unit": "1",
    "rounding": "floor",
    "min_order_amount": "0.00",
    "max_order_amount": "50000.00",
    "excluded_categories": [],
    "category_multipliers": {},
    "store_multipliers": {},
    "date_multipliers": [],
}


def put(api: Api, section: str, value: Any, **headers: str) -> Any:
    # Encoded here, so that NaN and infinities reach the server as a careless client sends them.
    return api.client.put(
        f"/api/v1/settings/{section}",
        content=json.dumps(value),
        headers={**api.headers, "Content-Type": "application/json", **headers},
    )


def patch(api: Api, section: str, value: Any, **headers: str) -> Any:
    return api.client.patch(
        f"/api/v1/settings/{section}",
        content=json.dumps(value),
        headers={**api.headers, "Content-Type": "application/json", **headers},
    )


def test_the_sections_are_listed_with_their_schema_and_value(admin: Api) -> None:
    # when a new program's settings are listed, in Chinese and in English
    listed = admin.get("/api/v1/settings")
    english = admin.client.get(
        "/api/v1/settings", headers={**admin.headers, "Accept-Language": "en"}
    )

    # then every section is there, in order, with its title, schema and default value
    assert listed.status_code == 200, listed.text
    sections = listed.json()["sections"]
    assert [s["name"] for s in sections] == NAMES
    assert [s["title"] for s in sections] == [
        "积分规则",
        "积分有效期",
        "会员等级体系",
        "成长值规则",
        "储值规则",
        "权益",
        "方案政策",
        "日历",
        "RFM 与生命周期",
        "历史订单导入",
    ]
    assert [s["title"] for s in english.json()["sections"]] == [
        "Earning rules",
        "Points validity",
        "Tier ladder",
        "Growth rules",
        "Stored-value rules",
        "Benefits",
        "Policies",
        "Calendar",
        "RFM and lifecycle",
        "History import",
    ]
    values = {s["name"]: s["value"] for s in sections}
    assert values == {
        "earning": EARNING_DEFAULTS,
        "validity": {"type": "end_of_year", "days": 365, "years": 1},
        "ladder": DEFAULT_LADDER,
        "growth": DEFAULT_GROWTH_RULES,
        "wallet": DEFAULT_WALLET_RULES,
        "benefits": {"undo_minutes": 30},
        "policies": DEFAULT_POLICIES,
        "calendar": {"timezone": "Asia/Shanghai"},
        "analytics": DEFAULT_ANALYTICS,
        "history": {"earn": "none", "counts_for_tiers": False},
    }
    schemas = {s["name"]: s["schema"] for s in sections}
    assert schemas["calendar"]["properties"] == {
        "timezone": {"examples": ["Asia/Shanghai"], "title": "Timezone", "type": "string"}
    }
    assert sorted(schemas["policies"]["properties"]) == sorted(DEFAULT_POLICIES)
    assert sorted(schemas["ladder"]["properties"]) == sorted(DEFAULT_LADDER)
    assert "moves" not in schemas["ladder"]["properties"]
    # and each section reads alone as it is listed
    for name in NAMES:
        assert admin.get(f"/api/v1/settings/{name}").json() == values[name]


def test_a_section_put_here_is_what_the_older_endpoints_show_and_apply(
    admin: Api, member: dict[str, Any]
) -> None:
    # when the earning rules, policies and wallet rules change through the generic API
    earning = {"points_per_unit": "2", "growth_per_unit": "1", "excluded_categories": ["gift"]}
    assert patch(admin, "earning", earning).json() == {**EARNING_DEFAULTS, **earning}
    changed = patch(admin, "policies", {"backdate_days": 7})
    wallet = patch(
        admin, "wallet", {"bonuses": [{"at_least": "100", "bonus": "10"}], "max_balance": "900"}
    )

    # then they are stored in their canonical form, and the older endpoints show them
    assert changed.json() == {
        "backdate_days": 7,
        "cross_store_returns": False,
        "idempotency_retention_days": 30,
    }
    assert wallet.json() == {
        "bonuses": [{"at_least": "100.00", "bonus": "10.00"}],
        "max_balance": "900.00",
        "refund_days": 7,
        "stopped_serving": False,
    }
    program = admin.get("/api/v1/program").json()
    assert program["earning_rules"] == {**EARNING_DEFAULTS, **earning}
    assert program["policies"] == changed.json()
    assert admin.get("/api/v1/wallet/rules").json() == wallet.json()
    # and the next order earns by them
    order = admin.post("/api/v1/orders", order_body(member["member_no"], "O-1"))
    assert (order.status_code, order.json()["points_earned"]) == (201, 120), order.text


def test_what_an_older_endpoint_stores_the_generic_api_shows_the_same(admin: Api) -> None:
    # given the growth rules and the ladder replaced through their own endpoints
    growth = {"behaviours": {"sign_in": {"growth": 2, "cap": 2, "per": "day"}}}
    assert admin.client.put("/api/v1/growth", json=growth, headers=admin.headers).status_code == 200
    ladder = {"tiers": DEFAULT_LADDER["tiers"][:2]}
    by_alias = admin.client.put("/api/v1/tiers", json=ladder, headers=admin.headers)
    assert by_alias.status_code == 200, by_alias.text

    # then the generic API shows exactly what they store
    assert admin.get("/api/v1/settings/growth").json() == growth
    assert admin.get("/api/v1/settings/ladder").json() == by_alias.json()
    assert by_alias.json() == {
        "period": "calendar_year",
        "review": "one_down",
        "notice_days": 30,
        "refund_reverts_upgrade": True,
        "tiers": DEFAULT_LADDER["tiers"][:2],
    }

    # and the same ladder put through the generic API is stored in the same form
    assert put(admin, "ladder", {"tiers": DEFAULT_LADDER["tiers"][:3]}).json() == {
        **by_alias.json(),
        "tiers": DEFAULT_LADDER["tiers"][:3],
    }
    assert admin.get("/api/v1/tiers").json()["tiers"] == DEFAULT_LADDER["tiers"][:3]


@pytest.mark.parametrize(
    ("section", "value", "problem"),
    [
        (
            "earning",
            {"points_per_unit": "-1"},
            "points_per_unit must be zero or more, at most 1000",
        ),
        ("earning", {"bonus": 1}, "unknown earning settings: bonus"),
        ("earning", None, "the earning section is a JSON object"),
        (
            "validity",
            {"type": "monthly"},
            "validity type must be one of never, rolling_days, end_of_year",
        ),
        ("ladder", [1, 2], "the ladder must be an object"),
        ("ladder", {"tiers": []}, "tiers must be a list of 1 to 10 tiers, lowest first"),
        (
            "growth",
            {"behaviours": {"dance": {"growth": 1, "cap": 1}}},
            "unknown behaviour types: dance (known: order, review, photo_review, share, sign_in, profile_completed, invitee_first_purchase)",
        ),
        ("wallet", {"max_balance": "0.00"}, "max_balance must be more than zero"),
        ("policies", {"backdate_days": 0}, "backdate_days must be a whole number from 1 to 3650"),
        (
            "calendar",
            {"timezone": "Mars/Olympus"},
            'the calendar is {"timezone": "Asia/Shanghai"}, with an IANA timezone name',
        ),
        (
            "calendar",
            {"timezone": "localtime"},  # the host's own zone, not a place
            'the calendar is {"timezone": "Asia/Shanghai"}, with an IANA timezone name',
        ),
        (
            "calendar",
            {"timezone": "Factory"},
            'the calendar is {"timezone": "Asia/Shanghai"}, with an IANA timezone name',
        ),
        ("calendar", "Asia/Tokyo", "the calendar section is a JSON object"),
        (
            "history",
            {"earn": "all", "counts_for_tiers": 1},
            "counts_for_tiers must be true or false",
        ),
        (
            "history",
            {"earn": "points", "counts_for_tiers": False},
            "earn must be one of none, growth, all",
        ),
        (
            "history",
            {"earn": "none", "counts_for_tiers": False, "x": 1},
            "unknown history settings: x",
        ),
    ],
)
def test_an_invalid_value_is_refused_in_the_callers_language_and_changes_nothing(
    admin: Api, database: Database, section: str, value: Any, problem: str
) -> None:
    before = table_contents(database)
    refused = put(admin, section, value, **{"Accept-Language": "en"})
    assert (refused.status_code, refused.json()["code"]) == (422, "invalid_program_settings")
    assert refused.json()["detail"] == f"Invalid program settings: {problem}"
    assert table_contents(database) == before


def test_refusals_are_in_chinese_by_default_as_the_older_endpoint_says_them(
    admin: Api, database: Database
) -> None:
    before = table_contents(database)
    generic = put(admin, "earning", {"points_per_unit": "-1"})
    older = admin.patch("/api/v1/program", {"earning_rules": {"points_per_unit": "-1"}})
    assert generic.json()["detail"] == older.json()["detail"]
    assert generic.json()["detail"].startswith("会员方案设置无效：")
    assert table_contents(database) == before


def test_the_same_value_again_changes_nothing(admin: Api, database: Database) -> None:
    # given a calendar set once
    first = put(admin, "calendar", {"timezone": "Europe/Paris"})
    assert first.json() == {"timezone": "Europe/Paris"}
    before = table_contents(database)

    # when it is put again, and the older endpoint repeats the default policies
    again = put(admin, "calendar", {"timezone": "Europe/Paris"})
    put(admin, "policies", DEFAULT_POLICIES)
    before_policies = table_contents(database)
    admin.patch("/api/v1/program", {"policies": DEFAULT_POLICIES})

    # then nothing changed, not even the settings version
    assert (again.status_code, again.json()) == (200, first.json())
    assert table_contents(database) == before_policies
    assert before_policies["programs"] != before["programs"]  # the first policies put did
    assert before_policies["program_settings"] != before["program_settings"]


def test_an_unknown_section_is_404_with_a_code(admin: Api, database: Database) -> None:
    before = table_contents(database)
    for response in (
        admin.get("/api/v1/settings/points"),
        put(admin, "points", {"a": 1}, **{"Accept-Language": "en"}),
    ):
        assert (response.status_code, response.json()["code"]) == (404, "unknown_settings_section")
    assert response.json()["detail"] == (
        "There is no settings section points; the sections are earning, validity, ladder, "
        "growth, wallet, benefits, policies, calendar, analytics, history."
    )
    assert table_contents(database) == before


def test_only_chain_wide_admin_keys_change_settings(
    admin: Api, store: dict[str, Any], database: Database
) -> None:
    before = table_contents(database)
    for key, code in (
        (make_key(database, "admin", "SH001"), "store_bound_key"),
        (make_key(database, "pos"), "forbidden"),
        (make_key(database, "read"), "forbidden"),
    ):
        caller = Api(admin.client, key)
        refused = put(caller, "policies", {"backdate_days": 7})
        assert (refused.status_code, refused.json()["code"]) == (403, code)
        assert caller.get("/api/v1/settings/policies").json() == DEFAULT_POLICIES
    after = table_contents(database)
    assert {t: rows for t, rows in after.items() if t != "api_keys"} == {
        t: rows for t, rows in before.items() if t != "api_keys"
    }


def test_the_ladder_put_here_keeps_the_tier_checks_of_put_tiers(
    admin: Api, member: dict[str, Any], database: Database
) -> None:
    # given a gold member
    no = member["member_no"]
    line = {"sku": "A1", "quantity": 1, "unit_price": "800.00", "amount": "800.00"}
    order = order_body(no, "O-1", lines=[line], payments=[{"method": "wechat", "amount": "800.00"}])
    assert admin.post("/api/v1/orders", order).json()["tier"]["code"] == "gold"
    without_gold = copy.deepcopy(DEFAULT_LADDER)
    without_gold["tiers"] = [t for t in without_gold["tiers"] if t["code"] != "gold"]
    before = table_contents(database)

    # when a ladder without gold is put without moves, then with bad moves
    refused = put(admin, "ladder", without_gold)
    bad_moves = put(admin, "ladder", {**without_gold, "moves": {"gold": "platinum"}})
    not_moves = put(
        admin, "ladder", {**without_gold, "moves": ["gold"]}, **{"Accept-Language": "en"}
    )

    # then each is refused as PUT /tiers refuses it, and nothing changed
    assert (refused.status_code, refused.json()["code"]) == (409, "tiers_in_use")
    assert (bad_moves.status_code, bad_moves.json()["code"]) == (422, "invalid_tier_moves")
    assert (not_moves.status_code, not_moves.json()["code"]) == (422, "invalid_program_settings")
    assert not_moves.json()["detail"] == (
        'Invalid program settings: moves map old tier codes to new ones, e.g. {"gold": "silver"}'
    )
    assert table_contents(database) == before

    # and with moves the member goes to silver, recorded as a ladder change by this key
    accepted = put(admin, "ladder", {**without_gold, "moves": {"gold": "silver"}})
    assert accepted.status_code == 200, accepted.text
    assert "moves" not in accepted.json()
    tier = admin.get(f"/api/v1/members/{no}/tier").json()
    assert tier["tier"]["code"] == "silver"
    assert (tier["history"][0]["reason"], tier["history"][0]["actor"]) == (
        "ladder_change",
        "api:test-admin",
    )


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_any_json_put_to_any_section_is_stored_or_refused_with_a_code(
    admin: Api, database: Database, data: st.DataObject
) -> None:
    # given a section and a value: arbitrary JSON, or its default with one entry replaced
    section = data.draw(st.sampled_from(NAMES))
    default = BY_NAME[section].default()
    value = data.draw(
        json_values
        | st.sampled_from(sorted(default)).flatmap(
            lambda key: json_values.map(lambda item: {**default, key: item})
        )
    )
    before = table_contents(database)

    # when it is put
    response = put(admin, section, value)

    # then it is stored (and read back as stored), or refused with a code and nothing changed
    assert response.status_code in (200, 409, 422), response.text
    if response.status_code == 200:
        assert admin.get(f"/api/v1/settings/{section}").json() == response.json()
    else:
        assert response.json()["code"] in (
            "invalid_program_settings",
            "validation_error",
            "tiers_in_use",
        )
        assert table_contents(database) == before


@pytest.mark.postgres_only
def test_puts_of_a_section_at_once_each_apply_in_turn(admin: Api, database: Database) -> None:
    # given three changes of a section never set, held up together by the program's row lock
    zones = ["Asia/Tokyo", "Europe/Paris", "America/New_York"]

    def hold(session: Any) -> None:
        session.execute(text("SELECT id FROM programs FOR UPDATE"))

    responses = run_behind_a_lock(
        database, hold, 3, lambda n: put(admin, "calendar", {"timezone": zones[n]})
    )

    # then each is applied in turn, none collides with another, and one row holds the last
    assert [r.status_code for r in responses] == [200, 200, 200], [r.text for r in responses]
    rows = table_contents(database)["program_settings"]
    assert len(rows) == 1
    shown = admin.get("/api/v1/settings/calendar").json()
    assert shown["timezone"] in zones and rows[0][2] == shown


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"backdate_days": 30}', "text/plain"),
        (b'{"backdate_days": 30}', "application/x-www-form-urlencoded"),
        (b"backdate_days=30", "application/x-www-form-urlencoded"),
    ],
)
def test_a_section_not_sent_as_json_is_refused_as_unreadable_and_changes_nothing(
    admin: Api, database: Database, content: bytes, content_type: str
) -> None:
    before = table_contents(database)
    headers = {**admin.headers, "Accept-Language": "en", "Content-Type": content_type}
    refused = admin.client.put("/api/v1/settings/policies", content=content, headers=headers)
    assert (refused.status_code, refused.json()["code"]) == (400, "invalid_body")
    assert refused.json()["detail"] == (
        "Send the policies section as a JSON object, with Content-Type: application/json."
    )
    assert table_contents(database) == before
