"""The console's RFM page: counts and shares, the store scope, the refresh button and who may."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from memberkit.analytics import service
from memberkit.analytics.models import MemberRfm
from memberkit.db import Database
from memberkit.member.models import Member
from memberkit.program.service import ProgramConfig
from tests.admin.conftest import PASSWORDS, cheap_hashes, staff
from tests.admin.test_views import csrf
from tests.analytics.test_service import AS_OF, eight
from tests.member.test_views import signed

__all__ = ["PASSWORDS", "cheap_hashes", "eight", "staff"]


def cell(page: str, row: str) -> list[str]:
    found = re.search(rf'<tr id="{row}"[^>]*>(.*?)</tr>', page, re.S)
    assert found, row
    return [re.sub(r"<[^>]+>", "", td).strip() for td in re.findall(r"<td[^>]*>.*?</td>", found[1])]


def test_the_owner_sees_classes_shares_states_and_the_charts(
    client: TestClient, database: Database, program: ProgramConfig, staff: object,
    eight: dict[str, Member],
) -> None:  # fmt: skip
    with database.session_scope() as s:
        service.refresh(s, program=program, as_of=AS_OF)
    signed(client, "owner")
    page = client.get("/admin/rfm").text
    assert cell(page, "class-important_value") == ["重要价值客户", "1", "20.0%"]
    assert cell(page, "class-general_win_back") == ["一般挽留客户", "2", "40.0%"]
    assert cell(page, "class-important_keep")[1:] == ["0", "0.0%"]
    assert cell(page, "class-unscored")[1] == "3"
    assert cell(page, "state-dormant") == ["沉睡客户", "2"]
    assert cell(page, "active-random") == ["随机客户", "2"]
    assert page.count('class="chart"') == 3
    assert "得分不低于 4" in page
    assert 'href="/admin/settings/analytics"' in page and 'id="rfm-refresh"' in page


def test_a_store_manager_sees_their_stores_members_and_no_refresh_button(
    client: TestClient, database: Database, program: ProgramConfig, staff: object,
    eight: dict[str, Member],
) -> None:  # fmt: skip
    with database.session_scope() as s:
        service.refresh(s, program=program, as_of=AS_OF)
    signed(client, "manager")
    page = client.get("/admin/rfm").text
    assert cell(page, "class-important_value")[1:] == ["1", "50.0%"]
    assert cell(page, "class-general_win_back")[1:] == ["0", "0.0%"]
    assert 'id="rfm-refresh"' not in page
    refused = client.post("/admin/rfm/refresh", data={"csrf_token": csrf(page)})
    assert refused.status_code == 403


def test_refresh_now_refreshes_every_member(
    client: TestClient, database: Database, staff: object, eight: dict[str, Member]
) -> None:
    signed(client, "owner")
    page = client.get("/admin/rfm").text
    assert 'id="rfm-as-of"' in page
    done = client.post(
        "/admin/rfm/refresh", data={"csrf_token": csrf(page)}, follow_redirects=False
    )
    assert (done.status_code, done.headers["location"]) == (303, "/admin/rfm?refreshed=1")
    with database.session_scope() as s:
        assert s.scalar(select(func.count()).select_from(MemberRfm)) == 8
    assert 'id="rfm-refreshed"' in client.get("/admin/rfm?refreshed=1").text
