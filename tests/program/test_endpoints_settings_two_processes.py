"""A settings section changed through one API process applies in another within a second."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from memberkit.db import Database
from memberkit.kit.time import utcnow
from tests.rest import make_key, order_body, serving


@pytest.mark.real_clock
def test_a_section_put_through_one_process_applies_in_the_other_within_a_second(
    database: Database, tmp_path: Path
) -> None:
    # given two API processes on one database, both having read the settings
    key = {"Authorization": f"Bearer {make_key(database, 'admin')}"}
    with (
        serving(tmp_path / "one.log") as one_url,
        serving(tmp_path / "two.log") as two_url,
        httpx.Client(base_url=one_url, headers=key, timeout=10) as one,
        httpx.Client(base_url=two_url, headers=key, timeout=10) as two,
    ):
        store = {"code": "SH001", "name": "上海南京东路店", "type": "direct"}
        assert one.post("/api/v1/stores", json=store).status_code == 201
        member = two.post("/api/v1/members", json={"phone": "13800138000"}).json()
        for api in (one, two):
            assert api.get("/api/v1/settings/earning").json()["points_per_unit"] == "1"

        # when the earning rules are tripled through the first
        changed = one.patch(
            "/api/v1/settings/earning", json={"points_per_unit": "3", "growth_per_unit": "1"}
        )
        assert changed.status_code == 200, changed.text
        start = time.monotonic()

        # then the second shows them and earns by them, well within a second
        shown = two.get("/api/v1/settings/earning").json()
        order = two.post("/api/v1/orders", json=_order(member["member_no"], "O-1"))
        elapsed = time.monotonic() - start
        assert (shown["points_per_unit"], shown["growth_per_unit"]) == ("3", "1")
        assert (order.status_code, order.json()["points_earned"]) == (201, 180), order.text
        assert elapsed < 1.0

        # and a change through the second (the calendar) is seen by the first as quickly
        moved = two.put("/api/v1/settings/calendar", json={"timezone": "Europe/Paris"})
        assert moved.status_code == 200, moved.text
        start = time.monotonic()
        listed = one.get("/api/v1/settings").json()["sections"]
        assert time.monotonic() - start < 1.0
        assert {s["name"]: s["value"] for s in listed}["calendar"] == {"timezone": "Europe/Paris"}


def _order(member_no: str, external_id: str) -> dict[str, Any]:
    """The contract's example order, dated now (the servers' clock is the real one)."""
    return order_body(member_no, external_id, occurred_at=utcnow().isoformat())
