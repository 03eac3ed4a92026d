"""A section put through the generic API is checked against its schema and stored whole.

What is stored is the section's canonical form with every default filled in, so no reader of
the stored JSON (the API's GET, the console form, the older endpoints) meets a shape the
parser reads otherwise; a field the schema requires is never stored missing or empty.
"""

from __future__ import annotations

from typing import Any

import pytest

from memberkit.db import Database
from memberkit.growth.rules import DEFAULT_GROWTH_RULES
from memberkit.program.policies import DEFAULT_POLICIES
from tests.program.test_endpoints_settings import EARNING_DEFAULTS, patch, put
from tests.rest import Api, table_contents


@pytest.mark.parametrize(
    ("section", "missing"),
    [("growth", "behaviours"), ("wallet", "max_balance"), ("calendar", "timezone")],
)
def test_an_empty_put_of_a_section_with_required_fields_is_refused_naming_them(
    admin: Api, database: Database, section: str, missing: str
) -> None:
    # given the section's value in force
    shown = admin.get(f"/api/v1/settings/{section}").json()
    before = table_contents(database)

    # when {} is put, in English and in Chinese
    refused = put(admin, section, {}, **{"Accept-Language": "en"})
    chinese = put(admin, section, {})

    # then it is refused naming the missing field, and nothing changed
    assert (refused.status_code, refused.json()["code"]) == (422, "invalid_program_settings")
    assert (
        refused.json()["detail"] == f"Invalid program settings: required fields missing: {missing}"
    )
    assert chinese.json()["detail"] == f"会员方案设置无效：缺少必填字段：{missing}"
    assert table_contents(database) == before
    assert admin.get(f"/api/v1/settings/{section}").json() == shown


def test_an_empty_put_of_the_ladder_is_refused_and_changes_nothing(
    admin: Api, database: Database
) -> None:
    before = table_contents(database)
    refused = put(admin, "ladder", {}, **{"Accept-Language": "en"})
    assert (refused.status_code, refused.json()["code"]) == (422, "invalid_program_settings")
    assert "tiers" in refused.json()["detail"]
    assert table_contents(database) == before


def test_growth_put_empty_no_longer_clears_the_behaviours(admin: Api) -> None:
    # given the default growth rules (review, share, sign-in … earn growth)
    assert admin.get("/api/v1/settings/growth").json() == DEFAULT_GROWTH_RULES

    # when {} is put, then it is refused and the behaviours are still there
    assert put(admin, "growth", {}).status_code == 422
    assert admin.get("/api/v1/growth").json() == DEFAULT_GROWTH_RULES

    # and clearing them takes saying so
    cleared = put(admin, "growth", {"behaviours": {}})
    assert (cleared.status_code, cleared.json()) == (200, {"behaviours": {}})


def test_growth_is_stored_with_every_behaviour_spelled_out(admin: Api) -> None:
    # when a behaviour is put without its period (a day by default), with a spend cap and decay
    stored = put(
        admin,
        "growth",
        {
            "behaviours": {"sign_in": {"growth": 2, "cap": 2}},
            "spend_cap": {"per": "month", "cap": 5000},
            "decay": {"share": "0.2", "after_days": 365},
        },
    )

    # then it is stored as it is read, and the older endpoint shows the same
    expected = {
        "behaviours": {"sign_in": {"growth": 2, "cap": 2, "per": "day"}},
        "spend_cap": {"cap": 5000, "per": "month"},
        "decay": {"after_days": 365, "share": "0.2"},
    }
    assert (stored.status_code, stored.json()) == (200, expected), stored.text
    assert admin.get("/api/v1/growth").json() == expected
    assert admin.get("/api/v1/settings/growth").json() == expected


@pytest.mark.parametrize(
    ("section", "value", "expected"),
    [
        ("earning", {}, EARNING_DEFAULTS),
        (
            "earning",
            {
                "points_per_unit": 2,
                "growth_per_unit": 0.5,
                "category_multipliers": {"beauty": 1.5},
                "min_order_amount": 10,
                "max_order_amount": "80000",
                "date_multipliers": [{"weekday": 3, "multiplier": 2}],
            },
            {
                **EARNING_DEFAULTS,
                "points_per_unit": "2",
                "growth_per_unit": "0.5",
                "category_multipliers": {"beauty": "1.5"},
                "min_order_amount": "10.00",
                "max_order_amount": "80000.00",
                "date_multipliers": [{"name": "", "multiplier": "2", "weekday": 3}],
            },
        ),
        ("validity", {}, {"type": "end_of_year", "days": 365, "years": 1}),
        (
            "validity",
            {"type": "rolling_days", "days": 20},
            {"type": "rolling_days", "days": 20, "years": 1},
        ),
        ("policies", {}, DEFAULT_POLICIES),
    ],
)
def test_a_section_patched_is_stored_with_its_defaults_filled_in(
    admin: Api, database: Database, section: str, value: dict[str, Any], expected: Any
) -> None:
    # when the value is patched onto a new program's defaults
    stored = patch(admin, section, value)

    # then its canonical form is stored, and is what every reader shows
    assert (stored.status_code, stored.json()) == (200, expected), stored.text
    assert admin.get(f"/api/v1/settings/{section}").json() == expected
    program = admin.get("/api/v1/program").json()
    older = {"earning": "earning_rules", "validity": "points_validity", "policies": "policies"}
    assert program[older[section]] == expected

    # and putting what is stored again changes nothing, not even the settings version
    before = table_contents(database)
    assert put(admin, section, expected).json() == expected
    assert table_contents(database) == before


def test_what_the_older_endpoint_stores_is_the_canonical_form_too(admin: Api) -> None:
    changed = admin.patch(
        "/api/v1/program",
        {"earning_rules": {"points_per_unit": 3}, "points_validity": {"type": "never"}},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["earning_rules"] == {**EARNING_DEFAULTS, "points_per_unit": "3"}
    assert changed.json()["points_validity"] == {"type": "never", "days": 365, "years": 1}
    assert admin.get("/api/v1/settings/earning").json()["points_per_unit"] == "3"


def test_a_put_of_part_of_a_section_is_refused_naming_what_it_leaves_out(
    admin: Api, database: Database
) -> None:
    # given earning rules changed from their defaults
    assert (
        patch(admin, "earning", {"points_per_unit": "2", "rounding": "half_up"}).status_code == 200
    )
    before = table_contents(database)

    # when a client puts only the field it means to change
    refused = put(admin, "earning", {"growth_per_unit": "3"}, **{"Accept-Language": "en"})

    # then it is refused, naming every field it would have reset, and nothing changed
    assert (refused.status_code, refused.json()["code"]) == (422, "invalid_program_settings")
    assert refused.json()["detail"] == (
        "Invalid program settings: a PUT replaces the whole section, and these fields are "
        "missing: points_per_unit, rounding, min_order_amount, max_order_amount, "
        "excluded_categories, category_multipliers, store_multipliers, date_multipliers; send "
        "them too, or change only some fields with PATCH"
    )
    assert table_contents(database) == before


def test_a_patch_changes_the_fields_given_and_keeps_the_others(admin: Api) -> None:
    # given earning rules changed from their defaults
    patch(admin, "earning", {"points_per_unit": "2", "excluded_categories": ["gift"]})

    # when one field is patched, and another reset with null
    patched = patch(admin, "earning", {"growth_per_unit": "3", "excluded_categories": None})

    # then the others are kept, and the nulled one is back at its default
    assert patched.status_code == 200, patched.text
    assert patched.json() == {
        **EARNING_DEFAULTS,
        "points_per_unit": "2",
        "growth_per_unit": "3",
        "excluded_categories": [],
    }
    assert admin.get("/api/v1/settings/earning").json() == patched.json()


@pytest.mark.parametrize("body", [[], "x", 3])
def test_a_patch_that_is_no_object_is_refused(admin: Api, database: Database, body: Any) -> None:
    before = table_contents(database)
    refused = patch(admin, "earning", body)
    assert (refused.status_code, refused.json()["code"]) == (422, "invalid_program_settings")
    assert table_contents(database) == before


def test_a_patched_null_goes_back_to_the_sections_own_default(admin: Api) -> None:
    # given the wallet's bonus steps and limit changed
    changed = patch(admin, "wallet", {"bonuses": [], "max_balance": "900.00"})
    assert changed.status_code == 200, changed.text

    # when both are patched to null
    reset = patch(admin, "wallet", {"bonuses": None, "max_balance": None})

    # then they are the section's defaults again (充500送50, 充1000送150; ¥5,000), not empty
    assert reset.status_code == 200, reset.text
    assert reset.json()["bonuses"] == [
        {"at_least": "500.00", "bonus": "50.00"},
        {"at_least": "1000.00", "bonus": "150.00"},
    ]
    assert reset.json()["max_balance"] == "5000.00"
