"""The console's segment pages: the list, the builder's live count, saving, a segment's page,
refresh, delete, static uploads; who may, store-bound scoping, refusals changing nothing."""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from memberkit.db import Database
from memberkit.program.service import ProgramConfig
from memberkit.segment import rules, service
from memberkit.segment.models import Segment, SegmentKind
from memberkit.staff import service as staff_service
from memberkit.staff.rules import Actor
from tests.admin.conftest import PASSWORDS, cheap_hashes, staff
from tests.admin.test_views import csrf
from tests.factories import make_member
from tests.member.test_views import signed
from tests.rest import table_contents

__all__ = ["PASSWORDS", "cheap_hashes", "staff"]

VIP = {"all": [{"field": "tag", "op": "any_of", "value": ["vip"]}]}
ACTIVE = {"all": [{"field": "status", "op": "eq", "value": "active"}]}
MORE = {"marketer": "marketer-pass-2026", "analyst": "analyst-pass-2026"}


@pytest.fixture
def cards(database: Database, program: ProgramConfig, staff: dict[str, Actor]) -> list[str]:
    """Three members: a vip of SH001 (张三), one of SH001, a vip of SH002; a marketer, analyst."""
    with database.session_scope() as session:
        for username, password in MORE.items():
            staff_service.create_user(
                session,
                program_id=program.id,
                username=username,
                password=password,
                role=username,
                locale="en",
            )
        return [
            make_member(
                session,
                program,
                store_code="SH001",
                tags=["vip"],
                name="张三",
                phone="13800138001",
            ).member_no,
            make_member(session, program, store_code="SH001").member_no,
            make_member(session, program, store_code="SH002", tags=["vip"]).member_no,
        ]


def login(client: TestClient, username: str) -> TestClient:
    if username in MORE:
        body = {"username": username, "password": MORE[username], "next": "/admin"}
        done = client.post("/login", data=body, follow_redirects=False)
        assert done.status_code == 303, done.text
        return client
    return signed(client, username)


def token(client: TestClient, path: str = "/admin/segments") -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    return csrf(page.text)


def count(client: TestClient, definition: Any) -> Any:
    return client.post(
        "/admin/segments/count",
        data={"definition": json.dumps(definition), "csrf_token": token(client)},
    )


def create(client: TestClient, name: str, definition: Any, kind: str = "rule") -> Any:
    return client.post(
        "/admin/segments/new",
        data={
            "name": name,
            "kind": kind,
            "definition": json.dumps(definition),
            "csrf_token": token(client),
        },
        follow_redirects=False,
    )


def made(database: Database, program: ProgramConfig, definition: Any = VIP) -> int:
    with database.session_scope() as session:
        return service.create(
            session, program=program, name="VIP", kind=SegmentKind.rule, definition=definition
        ).id


def test_a_marketer_counts_live_saves_and_sees_the_members(
    client: TestClient, database: Database, cards: list[str]
) -> None:
    # given a marketer in the builder
    login(client, "marketer")
    assert client.get("/admin/segments/new").status_code == 200
    # when the rule goes from the active members to the vips
    everyone, vips = count(client, ACTIVE).json(), count(client, VIP).json()
    # then the live count follows, and the preview is masked (a marketer sees no personal data)
    assert (everyone["count"], vips["count"]) == (3, 2)
    assert [m["member_no"] for m in vips["preview"]] == [cards[0], cards[2]]
    assert (vips["preview"][0]["phone"], vips["preview"][0]["name"]) == ("138****8001", "张*")
    # when they save it
    saved = create(client, "VIP", VIP)
    assert saved.status_code == 303
    with database.session_scope(read_only=True) as session:
        segment = session.scalars(select(Segment)).one()
        assert (segment.name, segment.member_count, segment.definition) == ("VIP", 2, VIP)
    assert saved.headers["location"] == f"/admin/segments/{segment.id}?done=saved"
    # then its page lists the two vips, masked, its rule in words and its history
    page = client.get(saved.headers["location"]).text
    assert "The segment was saved." in page
    assert cards[0] in page and cards[2] in page and cards[1] not in page
    assert "138****8001" in page and "13800138001" not in page
    assert "all of these (AND)" in page and "tags has any of vip" in page
    assert page.count(">entered<") == 2
    # and the list shows it with two members
    listed = client.get("/admin/segments").text
    assert re.search(r'<td class="text-end member-count">2</td>', listed)


def _definition_in(page: str) -> Any:
    found = re.search(r'name="definition" id="definition" value="([^"]*)"', page)
    assert found, "the builder holds no definition"
    return json.loads(html.unescape(found.group(1)))


def test_a_marketer_starts_from_a_ready_segment_and_saves_it_as_their_own(
    client: TestClient, database: Database, cards: list[str]
) -> None:
    # given the list, offering the three ready segments to a marketer
    login(client, "marketer")
    listed = client.get("/admin/segments").text
    for key in ("high_value_at_risk", "likely_to_buy_soon", "new_high_value"):
        assert f'href="/admin/segments/new?ready={key}"' in listed
    # when they choose one, the builder holds its name, description and rule
    builder = client.get("/admin/segments/new", params={"ready": "high_value_at_risk"}).text
    assert 'value="High value at risk"' in builder
    ready = rules.BY_KEY["high_value_at_risk"].definition
    assert _definition_in(builder) == ready
    # and, the threshold changed, it saves as a rule segment like any other
    mine = {"all": [dict(ready["all"][0]), {"field": "churn_risk", "op": "gte", "value": 70}]}
    assert create(client, "At risk (70 %)", mine).status_code == 303
    with database.session_scope(read_only=True) as session:
        assert session.scalars(select(Segment.definition)).one() == mine
    # an unknown key starts from the active members, as the plain builder does
    plain = client.get("/admin/segments/new", params={"ready": "nope"}).text
    assert _definition_in(plain) == ACTIVE


def test_an_owner_sees_the_preview_unmasked(client: TestClient, cards: list[str]) -> None:
    login(client, "owner")
    shown = count(client, VIP).json()["preview"][0]
    assert (shown["phone"], shown["name"]) == ("13800138001", "张三")


def test_a_bad_rule_answers_the_services_refusal_naming_where(
    client: TestClient, database: Database, cards: list[str]
) -> None:
    login(client, "marketer")
    bad = {"all": [VIP["all"][0], {"field": "colour", "op": "eq", "value": 1}]}
    before = table_contents(database)
    refused = count(client, bad)
    assert refused.status_code == 422
    assert refused.json() == {
        "code": "invalid_segment_definition",
        "error": "The segment's rule is not valid: all[1]: unknown field colour",
    }
    saved = create(client, "Bad", bad)
    assert saved.status_code == 422
    assert "all[1]: unknown field colour" in saved.text
    unreadable = client.post(
        "/admin/segments/count", data={"definition": "{", "csrf_token": token(client)}
    )
    assert unreadable.status_code == 422
    assert table_contents(database) == before


def test_a_store_manager_counts_and_lists_only_their_stores_members(
    client: TestClient, database: Database, program: ProgramConfig, cards: list[str]
) -> None:
    # given a vip segment of two members, one of SH001; the manager of SH001
    segment_id = made(database, program)
    login(client, "manager")
    # then the count, the list and the segment's page hold SH001's vip only
    assert count(client, VIP).json()["count"] == 1
    listed = client.get("/admin/segments").text
    assert '<td class="text-end member-count">1</td>' in listed
    page = client.get(f"/admin/segments/{segment_id}").text
    assert cards[0] in page and cards[2] not in page
    # and they may not change it
    assert client.get("/admin/segments/new").status_code == 403
    refreshed = client.post(
        f"/admin/segments/{segment_id}/refresh", data={"csrf_token": token(client)}
    )
    assert refreshed.status_code == 403


@pytest.mark.parametrize("username", ["analyst", "manager"])
def test_readers_may_not_change_segments(
    client: TestClient,
    database: Database,
    program: ProgramConfig,
    cards: list[str],
    username: str,
) -> None:
    segment_id = made(database, program)
    login(client, username)
    before = table_contents(database)
    assert client.get("/admin/segments").status_code == 200
    listed = client.get("/admin/segments").text
    assert "new-segment" not in listed and "ready-segments" not in listed
    assert create(client, "Mine", VIP).status_code == 403
    deleted = client.post(
        f"/admin/segments/{segment_id}/delete",
        data={"confirm": "yes", "csrf_token": token(client)},
    )
    assert deleted.status_code == 403
    assert client.get(f"/admin/segments/{segment_id}/edit").status_code == 403
    assert table_contents(database) == before


def test_a_cashier_may_not_see_segments(client: TestClient, cards: list[str]) -> None:
    login(client, "cashier")
    assert client.get("/admin/segments").status_code == 403


def test_a_form_without_the_token_is_refused(
    client: TestClient, database: Database, cards: list[str]
) -> None:
    login(client, "marketer")
    before = table_contents(database)
    refused = client.post(
        "/admin/segments/new",
        data={"name": "VIP", "kind": "rule", "definition": json.dumps(VIP)},
    )
    assert refused.status_code == 403
    assert client.post("/admin/segments/count", data={"definition": "{}"}).status_code == 403
    assert table_contents(database) == before


def test_editing_refreshes_and_deleting_needs_the_confirmation(
    client: TestClient, database: Database, program: ProgramConfig, cards: list[str]
) -> None:
    segment_id = made(database, program)
    login(client, "marketer")
    # when the rule is changed to the active members
    changed = client.post(
        f"/admin/segments/{segment_id}/edit",
        data={
            "name": "Everyone",
            "definition": json.dumps(ACTIVE),
            "csrf_token": token(client),
        },
        follow_redirects=False,
    )
    assert changed.status_code == 303
    with database.session_scope(read_only=True) as session:
        segment = session.get(Segment, segment_id)
        assert segment is not None
        assert (segment.name, segment.member_count) == ("Everyone", 3)
    # when deleting without ticking the box: refused, nothing changed
    before = table_contents(database)
    unconfirmed = client.post(
        f"/admin/segments/{segment_id}/delete", data={"csrf_token": token(client)}
    )
    assert unconfirmed.status_code == 422
    assert "Tick the box to confirm the deletion." in unconfirmed.text
    assert table_contents(database) == before
    # when confirmed: archived, no longer listed, its page gone
    deleted = client.post(
        f"/admin/segments/{segment_id}/delete",
        data={"confirm": "yes", "csrf_token": token(client)},
        follow_redirects=False,
    )
    assert (deleted.status_code, deleted.headers["location"]) == (303, "/admin/segments")
    assert "Everyone" not in client.get("/admin/segments").text
    assert client.get(f"/admin/segments/{segment_id}").status_code == 404


def test_a_static_segment_is_filled_from_a_csv_and_unknown_lines_reported(
    client: TestClient, database: Database, cards: list[str]
) -> None:
    login(client, "marketer")
    saved = create(client, "List", None, kind="static")
    assert saved.status_code == 303
    path = saved.headers["location"].split("?")[0]
    csv_text = f"member_no\n{cards[1]}\n13800138001\n99999999\n"
    uploaded = client.post(
        f"{path}/upload",
        data={"csrf_token": token(client, path)},
        files={"members_file": ("list.csv", csv_text.encode(), "text/csv")},
    )
    assert uploaded.status_code == 200, uploaded.text
    assert "2 members added, 1 lines named no member." in uploaded.text
    assert "<li>99999999</li>" in uploaded.text
    with database.session_scope(read_only=True) as session:
        segment = session.scalars(select(Segment)).one()
        assert (segment.kind, segment.member_count) == ("static", 2)
    # and a rule segment takes no upload: refused with the service's message
    rule = create(client, "VIP", VIP).headers["location"].split("?")[0]
    before = table_contents(database)
    refused = client.post(
        f"{rule}/upload", data={"members": cards[1], "csrf_token": token(client, rule)}
    )
    assert refused.status_code == 422
    assert "Members can be added only to a static segment." in refused.text
    assert table_contents(database) == before


def test_odd_addresses_and_uploads_are_refused_not_failed(
    client: TestClient, database: Database, cards: list[str]
) -> None:
    login(client, "marketer")
    assert client.get("/admin/segments/99").status_code == 404
    assert client.get(f"/admin/segments/{2**70}").status_code == 422
    # segments' ids are 32-bit integers on PostgreSQL: a larger one is refused, not a 500
    assert client.get(f"/admin/segments/{2**31}").status_code == 422
    assert client.get(f"/admin/segments/{2**31 - 1}").status_code == 404
    assert client.get("/admin/segments/0/edit").status_code == 422
    path = create(client, "List", None, kind="static").headers["location"].split("?")[0]
    uploaded = client.post(
        f"{path}/upload",
        data={"csrf_token": token(client, path)},
        files={"members_file": ("list.csv", f"{cards[1]}\0\n\xff\n".encode("latin-1"))},
    )
    assert uploaded.status_code == 200
    assert "1 members added, 1 lines named no member." in uploaded.text


@pytest.mark.parametrize(
    "raw",
    ["[" * 30_000, '{"all": ' * 5_000, "[" * 900 + "]" * 900, "{"],
    ids=["30000 [", "5000 all", "900 deep", "bad json"],
)
def test_a_definition_nested_too_deep_is_refused_as_unreadable(
    client: TestClient, database: Database, cards: list[str], raw: str
) -> None:
    login(client, "marketer")
    before = table_contents(database)
    counted = client.post(
        "/admin/segments/count", data={"definition": raw, "csrf_token": token(client)}
    )
    assert counted.status_code == 422, counted.text
    assert counted.json() == {"error": "The rule could not be read; reload the page."}
    saved = client.post(
        "/admin/segments/new",
        data={"name": "Deep", "kind": "rule", "definition": raw, "csrf_token": token(client)},
    )
    assert saved.status_code == 422
    assert "The rule could not be read; reload the page." in saved.text
    assert table_contents(database) == before


@pytest.mark.parametrize(
    ("username", "never"), [("marketer", "never refreshed"), ("owner", "尚未刷新")]
)
def test_a_static_segment_never_filled_shows_it_was_never_refreshed(
    client: TestClient, database: Database, program: ProgramConfig, cards: list[str],
    username: str, never: str,
) -> None:  # fmt: skip
    # Given a static segment no upload has filled yet
    with database.session_scope() as session:
        segment_id = service.create(
            session, program=program, name="List", kind=SegmentKind.static
        ).id
    login(client, username)  # the marketer reads English, the owner Chinese
    # When the list and the segment's page are shown, then "never refreshed" is said, not
    # the "valid forever" (永久有效) of a coupon's "never"
    listed = client.get("/admin/segments")
    row = re.search(rf'<tr id="segment-{segment_id}">.*?</tr>', listed.text, re.S)
    assert row is not None and never in row.group(0), listed.text
    assert "永久有效" not in listed.text
    page = client.get(f"/admin/segments/{segment_id}")
    assert never in page.text and "永久有效" not in page.text
