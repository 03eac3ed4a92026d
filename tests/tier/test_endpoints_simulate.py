"""The tier simulator on a real database, through the API and the CLI."""

from __future__ import annotations

from typing import Any

from typer.testing import CliRunner

from memberkit.cli.main import app
from tests.rest import Api, order_body


def seed(admin: Api, store: dict[str, Any]) -> list[str]:
    """Members with growth 0, 600, 1,200 and 6,000 (the last two reach silver and gold)."""
    numbers = []
    for n, amount in enumerate((None, "600.00", "700.00", "6000.00")):
        no = admin.post("/api/v1/members", {"phone": f"1380013800{n}"}).json()["member_no"]
        numbers.append(no)
        if amount:
            body = order_body(
                no,
                f"O-{n}",
                occurred_at="2026-11-20T10:00:00+08:00",
                lines=[
                    {
                        "sku": "A",
                        "quantity": 1,
                        "unit_price": amount,
                        "amount": amount,
                        "category": "apparel",
                    }
                ],
                payments=[{"method": "card", "amount": amount}],
            )
            assert admin.post("/api/v1/orders", body).status_code == 201
    second = order_body(
        numbers[2],
        "O-2b",
        occurred_at="2026-11-01T10:00:00+08:00",
        lines=[{"sku": "A", "quantity": 1, "unit_price": "500.00", "amount": "500.00"}],
        payments=[{"method": "card", "amount": "500.00"}],
    )
    assert admin.post("/api/v1/orders", second).status_code == 201
    return numbers


def test_simulation_counts_and_moves(admin: Api, store: dict[str, Any]) -> None:
    seed(admin, store)
    today = [
        t["today"]
        for t in admin.post(
            "/api/v1/tiers/simulate", {"growth_thresholds": [1000, 5000, 20000]}
        ).json()["tiers"]
    ]
    assert today == [2, 1, 1, 0]  # 0 and 600 regular, 1,200 silver, 6,000 gold

    result = admin.post("/api/v1/tiers/simulate", {"growth_thresholds": [500, 1000, 5000]}).json()

    assert [(t["code"], t["today"], t["proposed"]) for t in result["tiers"]] == [
        ("regular", 2, 1),
        ("silver", 1, 1),
        ("gold", 1, 1),
        ("black", 0, 1),
    ]
    assert (result["members"], result["up"], result["down"], result["unchanged"]) == (4, 3, 0, 1)
    growth = {b["low"]: b["members"] for b in result["growth_histogram"]}
    assert (growth[0], growth[500], growth[1000], growth[5000]) == (1, 1, 1, 1)


def test_simulation_refuses_bad_thresholds(admin: Api) -> None:
    for body in (
        {"growth_thresholds": [1000, 500, 20000]},
        {"growth_thresholds": [1000]},
        {"growth_thresholds": [1, 2, 3], "spend_thresholds": ["1.00"]},
    ):
        response = admin.post("/api/v1/tiers/simulate", body)
        assert (response.status_code, response.json()["code"]) == (422, "invalid_thresholds"), body


def test_simulate_command(admin: Api, store: dict[str, Any]) -> None:
    seed(admin, store)
    result = CliRunner().invoke(
        app,
        [
            "tiers",
            "simulate",
            "--thresholds",
            "500,1000,5000",
            "--spend",
            "0,0,100000.00",
            "--spend-days",
            "730",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "4 名会员：3 名将升级，0 名将降级，1 名不变。" in result.output
    bad = CliRunner().invoke(app, ["tiers", "simulate", "--thresholds", "a,b"])
    assert bad.exit_code == 2
